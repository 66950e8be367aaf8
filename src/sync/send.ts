/**
 * Sends planned writes to a target as one transaction bundle (all-or-nothing), upserting each resource
 * by its business identifier so a resend never duplicates, and reads back the server ids and versions.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { OperationOutcomeError, upstreamFailed } from '../outcomes.js';
import type { LedgerEntry } from '../store/port.js';
import type { PlannedWrite } from './plan.js';

/** Builds the transaction Bundle for planned writes. See https://hl7.org/fhir/R4/http.html#transaction */
export function buildTransaction(writes: PlannedWrite[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: writes.map((w): BundleEntry => {
      const { resourceType } = w.resource;
      const query = `identifier=${encodeURIComponent(w.mapped.key.system)}|${encodeURIComponent(w.mapped.key.value)}`;
      return w.mapped.write === 'upsert'
        ? { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'PUT', url: `${resourceType}?${query}` } }
        : { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'POST', url: resourceType, ifNoneExist: query } };
    }),
  };
}

const LOCATION = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([^/]+))?$/;

/**
 * Sends the writes and returns the ledger entries for them.
 * @throws OperationOutcomeError (upstreamFailed) when the target refuses or does not answer.
 */
export async function sendTransaction(target: FhirTarget, writes: PlannedWrite[]): Promise<LedgerEntry[]> {
  const response = await target.transaction(buildTransaction(writes));
  const entries = response.entry ?? [];
  if (entries.length !== writes.length) {
    throw new OperationOutcomeError(
      upstreamFailed(502, undefined, `Transaction response has ${entries.length} entries for ${writes.length} sent`)
    );
  }
  const now = new Date().toISOString();
  return writes.map((w, i) => {
    const e = entries[i];
    const m = LOCATION.exec(e.response?.location ?? '');
    const resourceId = m?.[2] ?? e.resource?.id;
    const versionId = m?.[3] ?? e.resource?.meta?.versionId ?? /W\/"([^"]+)"/.exec(e.response?.etag ?? '')?.[1];
    if (!resourceId || !versionId) {
      throw new OperationOutcomeError(
        upstreamFailed(502, undefined, `Transaction response entry ${i} has no resource id or version`)
      );
    }
    return {
      target: target.name,
      kind: w.mapped.sourceKind,
      recordId: w.mapped.sourceId,
      resourceType: w.resource.resourceType,
      identifier: `${w.mapped.key.system}|${w.mapped.key.value}`,
      resourceId,
      versionId,
      recordVersion: w.recordVersion,
      mapping: w.mapping,
      contentHash: w.contentHash,
      syncedAt: now,
    };
  });
}
