/**
 * What the target confirmed for one record after execute: each resource written or found there, with
 * the server's id and version, and its content as sent (references between resources of the same
 * Bundle point at the confirmed `Type/id`). For whatever keeps a copy of what was sent (called between
 * execute and commit, see worker.ts). Pure.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { LedgerEntry } from '../store/port.js';
import type { DeliveryResult, Prepared } from './deliver.js';
import { rewriteReferences } from './references.js';

export interface ConfirmedResource {
  resourceType: string;
  id: string;
  versionId: string;
  /** Our business identifier (`system|value`), the ledger's key. */
  identifier: string;
  /** The content sent, with its id and version; absent for a Provenance or a resource this attempt did not send (found unchanged). */
  resource?: Resource;
  ledger: LedgerEntry;
}

/** The resources the target confirmed for a record in this attempt (also when the attempt failed later on). */
export function confirmedResources(p: Prepared, result: DeliveryResult): ConfirmedResource[] {
  const planned = new Map(p.plan.writes.map((w) => [`${w.resource.resourceType}|${w.mapped.key.system}|${w.mapped.key.value}`, w]));
  const byUrl = new Map<string, string>();
  for (const l of result.ledger) {
    const w = planned.get(`${l.resourceType}|${l.identifier}`);
    if (w) {
      byUrl.set(w.fullUrl, `${l.resourceType}/${l.resourceId}`);
    }
  }
  return result.ledger.map((l) => {
    const w = planned.get(`${l.resourceType}|${l.identifier}`);
    const resource = w
      ? ({ ...rewriteReferences(w.resource, (r) => byUrl.get(r) ?? r), id: l.resourceId, meta: { ...w.resource.meta, versionId: l.versionId } } as Resource)
      : undefined;
    return { resourceType: l.resourceType, id: l.resourceId, versionId: l.versionId, identifier: l.identifier, ...(resource ? { resource } : {}), ledger: l };
  });
}
