/**
 * Turns a record (and its dependencies) into the resources to write on a target: maps them, skips what
 * the ledger shows is already there unchanged, resolves every conditional reference and validates.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { mapRecord, type MappedResource, type MappingSet } from '../mapping/index.js';
import { validateOutbound } from '../profiles/validate.js';
import { contentHash } from '../store/hash.js';
import type { Store } from '../store/port.js';
import type { RecordToMap } from './context.js';
import { HoldError } from './hold.js';
import type { IdentityResolver } from './identity.js';
import { forEachReference, parseConditionalRef, rewriteReferences } from './references.js';

export interface PlannedWrite {
  mapped: MappedResource;
  /** The resource with literal or urn:uuid references, validated. */
  resource: Resource;
  fullUrl: string;
  contentHash: string;
  mapping: string;
  recordVersion: number;
}

export interface Plan {
  writes: PlannedWrite[];
}

/**
 * Plans the writes for records[last] (the main record) and whatever of its dependencies is not yet on the target.
 * @throws HoldError when a reference cannot be resolved yet; OperationOutcomeError when output is invalid.
 */
export async function planWrites(
  records: RecordToMap[],
  mappings: MappingSet,
  store: Store,
  targetName: string,
  identity: IdentityResolver
): Promise<Plan> {
  const main = records[records.length - 1];
  const candidates: Omit<PlannedWrite, 'resource'>[] = [];
  for (const item of records) {
    const result = mapRecord(mappings, item.record.kind, item.record.body, item.context);
    const isMain = item === main;
    for (const mapped of result.resources) {
      const hash = contentHash(mapped.resource);
      const identifier = `${mapped.key.system}|${mapped.key.value}`;
      const known = await store.getLedgerByIdentifier(targetName, mapped.resource.resourceType, identifier);
      // Dependencies already on the target are only referenced; the main record is rewritten when changed.
      if (known && (!isMain || known.contentHash === hash)) {
        continue;
      }
      candidates.push({
        mapped,
        fullUrl: `urn:uuid:${randomUUID()}`,
        contentHash: hash,
        mapping: `${result.mappingId}@${result.mappingVersion}`,
        recordVersion: item.record.version,
      });
    }
  }

  const inBundle = new Map(
    candidates.map((c) => [`${c.mapped.resource.resourceType}?${c.mapped.key.system}|${c.mapped.key.value}`, c.fullUrl])
  );
  const resolved = new Map<string, string>();
  for (const c of candidates) {
    const refs: string[] = [];
    forEachReference(c.mapped.resource, (r) => refs.push(r));
    for (const r of refs) {
      if (!resolved.has(r)) {
        resolved.set(r, await resolveReference(r, inBundle, store, targetName, identity));
      }
    }
  }

  const writes: PlannedWrite[] = candidates.map((c) => {
    const resource = rewriteReferences(c.mapped.resource, (r) => resolved.get(r) ?? r);
    validateOutbound(resource);
    return { ...c, resource };
  });
  return { writes };
}

async function resolveReference(
  reference: string,
  inBundle: Map<string, string>,
  store: Store,
  targetName: string,
  identity: IdentityResolver
): Promise<string> {
  const ref = parseConditionalRef(reference);
  if (!ref) {
    return reference;
  }
  const local = inBundle.get(`${ref.resourceType}?${ref.identifier}`);
  if (local) {
    return local;
  }
  const known = await store.getLedgerByIdentifier(targetName, ref.resourceType, ref.identifier);
  if (known) {
    return `${known.resourceType}/${known.resourceId}`;
  }
  if (ref.resourceType === 'Patient' || ref.resourceType === 'Practitioner') {
    return identity.resolve(ref);
  }
  throw new HoldError('waiting-for-dependency', `${ref.resourceType} ${ref.value} is not on the target yet`);
}
