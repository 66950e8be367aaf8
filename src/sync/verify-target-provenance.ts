/**
 * The orphan-Provenance check of verify-target: every Provenance carrying our write tag must point
 * (`target`) at a resource that exists, at a version that exists. The resources are looked up in
 * `_id=` lists (most are known already from the ledger check); a version other than the current one is
 * read (`vread`), in batch Bundles where the target takes them.
 */
import type { Bundle, Provenance, Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import { chunks, mapLimit, type BatchedSearch } from './verify-target-search.js';
import type { OrphanProblem } from './verify-target-types.js';
import { lookupByIds } from './verify-target-lookup.js';

/** `Type/id[/_history/vid]`, also inside an absolute URL; undefined for anything else (urn:uuid, a logical reference). */
export function parseTargetRef(reference: string | undefined): { type: string; id: string; version?: string } | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/.exec(reference ?? '');
  return m ? { type: m[1], id: m[2], ...(m[3] ? { version: m[3] } : {}) } : undefined;
}

export interface OrphanCheck {
  provenances: Provenance[];
  /** Resources already read, by `Type/id`; extended with what this check looks up. */
  known: Map<string, Resource>;
  caps: TargetCapabilities;
  search: BatchedSearch;
  target: Pick<FhirTarget, 'vread' | 'batch' | 'read'>;
}

export interface OrphanResult {
  problems: OrphanProblem[];
  /** Earlier versions read to prove they exist. */
  versionsRead: number;
  notChecked: string[];
}

/** Finds the Provenances whose target does not resolve, or names a version the target does not have. */
export async function findOrphanProvenances(o: OrphanCheck): Promise<OrphanResult> {
  const problems: OrphanProblem[] = [];
  const notChecked: string[] = [];
  const refs: { provenance: string; reference: string; type: string; id: string; version?: string }[] = [];
  for (const p of o.provenances) {
    const targets = p.target ?? [];
    if (targets.length === 0) {
      problems.push({ check: 'orphan-provenance', id: p.id as string, target: '', reason: 'no-target' });
    }
    for (const t of targets) {
      const parsed = parseTargetRef(t.reference);
      if (parsed) {
        refs.push({ provenance: p.id as string, reference: `${parsed.type}/${parsed.id}${parsed.version ? `/_history/${parsed.version}` : ''}`, ...parsed });
      } else {
        problems.push({ check: 'orphan-provenance', id: p.id as string, target: 'not Type/id', reason: 'unresolvable-reference' });
      }
    }
  }
  // The resources the ledger check did not read already, by _id lists per type.
  const unknown = new Map<string, string[]>();
  for (const r of refs.filter((r) => !o.known.has(`${r.type}/${r.id}`))) {
    unknown.set(r.type, [...(unknown.get(r.type) ?? []), r.id]);
  }
  for (const [type, ids] of unknown) {
    const found = await lookupByIds(o.caps, o.search, o.target, type, ids);
    if (!found) {
      notChecked.push(`${ids.length} Provenance targets of type ${type}: the target can neither search ${type} by _id nor read it`);
      ids.forEach((id) => o.known.set(`${type}/${id}`, { resourceType: type, id } as Resource));
      continue;
    }
    found.forEach((r, id) => o.known.set(`${type}/${id}`, r));
  }
  const earlier: typeof refs = [];
  for (const r of refs) {
    const current = o.known.get(`${r.type}/${r.id}`);
    if (!current) {
      problems.push({ check: 'orphan-provenance', id: r.provenance, target: r.reference, reason: 'target-missing' });
    } else if (r.version !== undefined && current.meta?.versionId !== undefined && r.version !== current.meta.versionId) {
      earlier.push(r);
    }
  }
  const readable = earlier.filter((r) => o.caps.can(r.type, 'vread'));
  if (readable.length < earlier.length) {
    notChecked.push(`${earlier.length - readable.length} Provenances name an earlier version of a type the target cannot vread: that version's existence is not checked`);
  }
  const exists = await versionsExist(o, readable);
  readable.forEach((r, i) => {
    if (!exists[i]) {
      problems.push({ check: 'orphan-provenance', id: r.provenance, target: r.reference, reason: 'version-missing' });
    }
  });
  return { problems, versionsRead: readable.length, notChecked };
}

/** Whether each `Type/id/_history/v` exists: GET entries in batch Bundles, or one vread each. */
async function versionsExist(o: OrphanCheck, refs: { type: string; id: string; version?: string }[]): Promise<boolean[]> {
  if (o.caps.batch) {
    const answers = await mapLimit(chunks(refs, o.search.chunkSize), o.search.concurrency, async (c) => {
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: c.map((r) => ({ request: { method: 'GET', url: `${r.type}/${r.id}/_history/${r.version}` } })),
      };
      const answer = await o.target.batch(bundle);
      return c.map((_, i) => versionAnswer(answer.entry?.[i]?.response?.status));
    });
    return answers.flat();
  }
  return mapLimit(refs, o.search.concurrency, async (r) => {
    try {
      await o.target.vread(r.type, r.id, r.version as string);
      return true;
    } catch (err) {
      if (err instanceof UpstreamError && err.status > 0) {
        return versionAnswer(String(err.status));
      }
      throw err;
    }
  });
}

/** 2xx: exists; 404/410: does not; anything else is an error of the check, not an answer. */
function versionAnswer(status: string | undefined): boolean {
  const code = Number.parseInt(status ?? '', 10);
  if (code >= 200 && code < 300) {
    return true;
  }
  if (code === 404 || code === 410) {
    return false;
  }
  throw new Error(`The target answered a version read with status ${status ?? 'none'}`);
}

