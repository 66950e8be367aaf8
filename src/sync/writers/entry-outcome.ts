/**
 * One reading of a batch or transaction response entry (issue #9 item 1): a 2xx with the resource's
 * id and version, or the entry's own error as an UpstreamError carrying the entry's status, its
 * OperationOutcome and what the retry policy needs, exactly as if that request had been sent alone.
 * A server such as Medplum answers HTTP 200 with `{"status":"403","outcome":{...}}` per entry; such an
 * entry is an error of its own, never "no resource id or version".
 */
import type { BundleEntry, BundleEntryRequest, OperationOutcome } from '@medplum/fhirtypes';
import { UpstreamError } from '../../fhir/upstream-error.js';
import { upstreamFailed } from '../../outcomes.js';
import { idAndVersion } from './ledger.js';

export type EntryOutcome = { ok: true; id: string; versionId: string } | { ok: false; error: UpstreamError };

/** The status of a response entry (`"201"`, `"201 Created"`), or undefined when there is none. */
export function entryStatus(entry: BundleEntry | undefined): number | undefined {
  const status = Number.parseInt(entry?.response?.status ?? '', 10);
  return Number.isFinite(status) ? status : undefined;
}

/**
 * The error of a response entry with status >= 400: its status, its OperationOutcome (from
 * `response.outcome`, else an OperationOutcome in `resource`), a wait for a 429 where the outcome says
 * how long (Medplum's rate limiter state, `msBeforeNext`), and for a 403 which permission the request
 * needed.
 */
export function entryError(status: number, entry: BundleEntry | undefined, request?: BundleEntryRequest): UpstreamError {
  const candidate = (entry?.response?.outcome ?? entry?.resource) as OperationOutcome | undefined;
  const outcome = candidate?.resourceType === 'OperationOutcome' ? candidate : undefined;
  const text = status === 403 && request ? forbiddenText(request) : undefined;
  return new UpstreamError(status, status === 429 ? waitOf(outcome) : undefined, upstreamFailed(status, outcome, text));
}

/** Reads one entry of a transaction response for a write: its id and version, or its own error. */
export function writeEntryOutcome(entry: BundleEntry | undefined, request?: BundleEntryRequest): EntryOutcome {
  const status = entryStatus(entry);
  if (status !== undefined && status >= 400) {
    return { ok: false, error: entryError(status, entry, request) };
  }
  const iv = entry ? idAndVersion({ resource: entry.resource, location: entry.response?.location, etag: entry.response?.etag }) : undefined;
  if (!iv) {
    // A success that does not say where the resource went: the outcome of this entry is unknown.
    return { ok: false, error: new UpstreamError(502, undefined, upstreamFailed(502, undefined, 'A transaction response entry reports success without the resource id and version')) };
  }
  return { ok: true, ...iv };
}

/**
 * What a refused write needed, in the scope grammar an operator configures (FHIR_AUTH_SCOPE): the
 * interaction and type of the request, and the SMART v2 and v1 scopes that grant it.
 */
export function forbiddenText(request: BundleEntryRequest): string {
  const type = /^([A-Z][A-Za-z]+)/.exec(request.url ?? '')?.[1] ?? 'this type';
  const conditional = (request.url ?? '').includes('?') || !!request.ifNoneExist;
  const method = request.method ?? 'GET';
  const words: Record<string, [string, string]> = {
    POST: [conditional ? 'search and create' : 'create', conditional ? 'cs' : 'c'],
    PUT: [conditional ? 'search, create and update' : 'update', conditional ? 'cus' : 'u'],
    PATCH: ['update', 'u'],
    DELETE: ['delete', 'd'],
    GET: ['read', 'rs'],
  };
  const [what, letters] = words[method] ?? ['write', 'cu'];
  const v1 = method === 'GET' ? 'read' : 'write';
  return `the target refused to ${what} ${type} (HTTP 403): the token lacks that permission; grant system/${type}.${letters} (SMART v2) or system/${type}.${v1} (v1) in FHIR_AUTH_SCOPE and on the server, then replay`;
}

/** Milliseconds until a rate limiter lets us in again, from an outcome's diagnostics; undefined when not said. */
function waitOf(outcome: OperationOutcome | undefined): number | undefined {
  for (const issue of outcome?.issue ?? []) {
    const m = /"msBeforeNext"\s*:\s*(\d+)/.exec(issue.diagnostics ?? '');
    if (m) {
      return Math.min(Number(m[1]), 3_600_000);
    }
  }
  return undefined;
}
