/** Ledger entries from what a target answered about a write. */
import type { Resource } from '@medplum/fhirtypes';
import type { WriteResult } from '../../fhir/port.js';
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';
import type { LedgerEntry } from '../../store/port.js';
import type { PlannedWrite } from '../plan.js';

const LOCATION = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([^/]+))?\/?$/;

/** The server id and version of a written resource, from the body, Location or ETag. */
export function idAndVersion(r: Pick<WriteResult, 'resource' | 'location' | 'etag'>): { id: string; versionId: string } | undefined {
  const m = LOCATION.exec(r.location ?? '');
  const id = r.resource?.id ?? m?.[2];
  const versionId = r.resource?.meta?.versionId ?? m?.[3] ?? /^(?:W\/)?"([^"]+)"$/.exec(r.etag ?? '')?.[1];
  return id && versionId ? { id, versionId } : undefined;
}

/** As idAndVersion, or a 502 naming what was missing (a server that answers a write without saying where it went). */
export function requireIdAndVersion(r: Pick<WriteResult, 'resource' | 'location' | 'etag'>, what: string): { id: string; versionId: string } {
  const found = idAndVersion(r);
  if (!found) {
    throw new OperationOutcomeError(upstreamFailed(502, undefined, `The answer to ${what} has no resource id or version`));
  }
  return found;
}

export function identifierOf(w: PlannedWrite): string {
  return `${w.mapped.key.system}|${w.mapped.key.value}`;
}

/** The ledger entry of a planned write that now lives on the target as Type/id/_history/versionId. */
export function ledgerFor(targetName: string, w: PlannedWrite, id: string, versionId: string, now = new Date()): LedgerEntry {
  return {
    target: targetName,
    kind: w.mapped.sourceKind,
    recordId: w.mapped.sourceId,
    resourceType: w.resource.resourceType,
    identifier: identifierOf(w),
    resourceId: id,
    versionId,
    recordVersion: w.recordVersion,
    mapping: w.mapping,
    contentHash: w.contentHash,
    syncedAt: now.toISOString(),
  };
}

/** The resources of a searchset Bundle of one type (included resources and OperationOutcomes left out). */
export function matchesOf(bundle: { entry?: { resource?: Resource; search?: { mode?: string } }[] }, resourceType: string): Resource[] {
  return (bundle.entry ?? [])
    .filter((e) => e.search?.mode !== 'include' && e.search?.mode !== 'outcome')
    .map((e) => e.resource)
    .filter((r): r is Resource => r?.resourceType === resourceType);
}
