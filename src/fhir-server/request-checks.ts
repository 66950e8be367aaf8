/**
 * Shape checks on FHIR request bodies before medplum's router sees them. medplum assumes well-formed
 * requests; a batch entry that is `null`, a POST entry without a resource or a PATCH that is not a list
 * of operations made it throw a TypeError, answered as a 400 quoting JavaScript ("Cannot read
 * properties of undefined (reading 'resourceType')") or as a 500. Here every such problem is found at
 * once, with its FHIRPath, in our words.
 */
import type { Problem } from '../outcomes.js';

const ENTRY_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const PATCH_OPS = new Set(['add', 'remove', 'replace', 'copy', 'move', 'test']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Problems of a resource body: an object with a resourceType (matching `type` when the URL names one). */
export function resourceProblems(body: unknown, type: string | undefined, at: string): Problem[] {
  if (!isObject(body)) {
    return [{ path: at, message: 'must be a FHIR resource (a JSON object)' }];
  }
  if (typeof body.resourceType !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(body.resourceType)) {
    return [{ path: `${at}.resourceType`, message: 'must name a FHIR resource type' }];
  }
  if (type && body.resourceType !== type) {
    return [{ path: `${at}.resourceType`, message: 'must be the resource type the URL names' }];
  }
  return [];
}

/** Problems of a JSON Patch body (RFC 6902): a list of operations, each with an op and a path. */
export function patchProblems(body: unknown, at = 'Patch'): Problem[] {
  if (!Array.isArray(body)) {
    return [{ path: at, message: 'must be a JSON Patch: a list of operations (Content-Type: application/json-patch+json)' }];
  }
  const problems: Problem[] = [];
  body.forEach((op: unknown, i) => {
    if (!isObject(op)) {
      problems.push({ path: `${at}[${i}]`, message: 'must be an operation object' });
      return;
    }
    if (typeof op.op !== 'string' || !PATCH_OPS.has(op.op)) {
      problems.push({ path: `${at}[${i}].op`, message: `must be one of ${[...PATCH_OPS].join(', ')}` });
    }
    if (typeof op.path !== 'string') {
      problems.push({ path: `${at}[${i}].path`, message: 'must be a JSON Pointer string' });
    }
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') {
      problems.push({ path: `${at}[${i}].from`, message: 'must be a JSON Pointer string' });
    }
  });
  return problems;
}

/**
 * Problems of a batch or transaction Bundle's entries: each an object with a request (method and a
 * relative url), and a resource where the method needs one.
 */
export function bundleProblems(bundle: Record<string, unknown>): Problem[] {
  const entries = bundle.entry;
  if (entries === undefined) {
    return [{ path: 'Bundle.entry', message: 'a batch or transaction needs at least one entry' }];
  }
  if (!Array.isArray(entries)) {
    return [{ path: 'Bundle.entry', message: 'must be a list of entries' }];
  }
  if (entries.length === 0) {
    return [{ path: 'Bundle.entry', message: 'a batch or transaction needs at least one entry' }];
  }
  const problems: Problem[] = [];
  entries.forEach((entry: unknown, i) => {
    const at = `Bundle.entry[${i}]`;
    if (!isObject(entry)) {
      problems.push({ path: at, message: 'must be an entry object' });
      return;
    }
    const request = entry.request;
    if (!isObject(request)) {
      problems.push({ path: `${at}.request`, message: 'is required: the method and url of this entry' });
      return;
    }
    const method = typeof request.method === 'string' ? request.method.toUpperCase() : undefined;
    if (!method || !ENTRY_METHODS.has(method)) {
      problems.push({ path: `${at}.request.method`, message: `must be one of ${[...ENTRY_METHODS].join(', ')}` });
    }
    if (typeof request.url !== 'string' || request.url.trim() === '') {
      problems.push({ path: `${at}.request.url`, message: 'must be a relative URL such as Patient or Patient/123' });
    }
    for (const h of ['ifNoneExist', 'ifMatch', 'ifNoneMatch', 'ifModifiedSince']) {
      if (request[h] !== undefined && typeof request[h] !== 'string') {
        problems.push({ path: `${at}.request.${h}`, message: 'must be a string' });
      }
    }
    if (method === 'POST' || method === 'PUT') {
      const type = typeof request.url === 'string' ? /^\/*([A-Z][A-Za-z]*)/.exec(request.url)?.[1] : undefined;
      problems.push(...resourceProblems(entry.resource, type, `${at}.resource`));
    } else if (method === 'PATCH') {
      const r = entry.resource;
      if (!isObject(r) || (r.resourceType !== 'Binary' && r.resourceType !== 'Parameters')) {
        problems.push({ path: `${at}.resource`, message: 'a PATCH entry carries its patch as a Binary or Parameters resource' });
      } else if (r.resourceType === 'Binary') {
        problems.push(...binaryPatchProblems(r, `${at}.resource`));
      }
    }
  });
  return problems;
}

function binaryPatchProblems(binary: Record<string, unknown>, at: string): Problem[] {
  if (typeof binary.data !== 'string') {
    return [{ path: `${at}.data`, message: 'must hold the JSON Patch, base64-encoded' }];
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    return [{ path: `${at}.data`, message: 'must be base64 of a JSON Patch document' }];
  }
  return patchProblems(decoded, `${at}.data`);
}
