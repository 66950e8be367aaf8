/**
 * Sends planned writes as one transaction bundle (all-or-nothing), upserting each resource by its
 * business identifier so a resend never duplicates, and reads back the server ids and versions. Where
 * the target also creates Provenance conditionally, each write's Provenance rides in the same
 * transaction (If-None-Exist on its write tag), so a resend after an unknown outcome adds none.
 */
import type { Bundle, BundleEntry, Provenance } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../fhir/capabilities.js';
import type { FhirTarget } from '../../fhir/port.js';
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';
import { validateOutbound } from '../../profiles/validate.js';
import type { LedgerEntry } from '../../store/port.js';
import type { PlannedWrite } from '../plan.js';
import { buildProvenance, type ProvenanceContext, type ProvenanceSettings, writeKey, writeTagSystem } from '../provenance.js';
import { idAndVersion, identifierOf, ledgerFor } from './ledger.js';

export interface TransactionProvenance {
  settings: ProvenanceSettings;
  contextFor(w: PlannedWrite): ProvenanceContext;
}

/** The transaction carries the Provenances only when the target can deduplicate them itself. */
export function provenanceInTransaction(caps: TargetCapabilities): boolean {
  return caps.can('Provenance', 'create') && (caps.type('Provenance')?.conditionalCreate ?? false) && caps.canSearch('Provenance', '_tag');
}

interface ProvenanceEntry {
  write: PlannedWrite;
  key: string;
  entry: BundleEntry;
}

function writeEntry(w: PlannedWrite): BundleEntry {
  const { resourceType } = w.resource;
  const query = `identifier=${encodeURIComponent(w.mapped.key.system)}|${encodeURIComponent(w.mapped.key.value)}`;
  return w.mapped.write === 'upsert'
    ? { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'PUT', url: `${resourceType}?${query}` } }
    : { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'POST', url: resourceType, ifNoneExist: query } };
}

function provenanceEntries(writes: PlannedWrite[], targetName: string, p?: TransactionProvenance): ProvenanceEntry[] {
  if (!p) {
    return [];
  }
  const tagSystem = writeTagSystem(p.settings.ns);
  return writes.map((w) => {
    const key = writeKey(targetName, { resourceType: w.resource.resourceType, identifier: identifierOf(w), recordVersion: w.recordVersion, contentHash: w.contentHash });
    // Inside a transaction the target is the write's urn:uuid; the server rewrites it to Type/id.
    const resource: Provenance = buildProvenance(p.settings, p.contextFor(w), w.fullUrl, key, !w.existing);
    validateOutbound(resource);
    return {
      write: w,
      key,
      entry: { resource, request: { method: 'POST', url: 'Provenance', ifNoneExist: `_tag=${encodeURIComponent(tagSystem)}|${key}` } },
    };
  });
}

/**
 * Sends the writes and returns the ledger entries for them (and their Provenances).
 * @throws OperationOutcomeError (upstreamFailed) when the target refuses or does not answer.
 */
export async function sendTransaction(target: FhirTarget, writes: PlannedWrite[], provenance?: TransactionProvenance): Promise<LedgerEntry[]> {
  const provs = provenanceEntries(writes, target.name, provenance);
  // See https://hl7.org/fhir/R4/http.html#transaction
  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [...writes.map(writeEntry), ...provs.map((p) => p.entry)] };
  const response = await target.transaction(bundle);
  const entries = response.entry ?? [];
  if (entries.length !== bundle.entry?.length) {
    throw new OperationOutcomeError(
      upstreamFailed(502, undefined, `Transaction response has ${entries.length} entries for ${bundle.entry?.length ?? 0} sent`)
    );
  }
  const now = new Date();
  const located = (i: number): { id: string; versionId: string } => {
    const e = entries[i];
    const iv = idAndVersion({ resource: e.resource, location: e.response?.location, etag: e.response?.etag });
    if (!iv) {
      throw new OperationOutcomeError(upstreamFailed(502, undefined, `Transaction response entry ${i} has no resource id or version`));
    }
    return iv;
  };
  const ledger = writes.map((w, i) => {
    const iv = located(i);
    return ledgerFor(target.name, w, iv.id, iv.versionId, now);
  });
  const tagSystem = provenance ? writeTagSystem(provenance.settings.ns) : '';
  provs.forEach((p, n) => {
    const iv = located(writes.length + n);
    ledger.push({
      target: target.name,
      kind: p.write.mapped.sourceKind,
      recordId: p.write.mapped.sourceId,
      resourceType: 'Provenance',
      identifier: `${tagSystem}|${p.key}`,
      resourceId: iv.id,
      versionId: iv.versionId,
      recordVersion: p.write.recordVersion,
      mapping: 'provenance',
      contentHash: p.key,
      syncedAt: now.toISOString(),
    });
  });
  return ledger;
}
