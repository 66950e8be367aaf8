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

/** One record's share of a transaction Bundle: its entries, and how to read its ledger entries back. */
export interface TransactionPart {
  entries: BundleEntry[];
  /** The conditional URLs of its entries: two equal conditions cannot share one Bundle. */
  conditions: string[];
  /** Its ledger entries from the server's id and version of each of its entries, in order. */
  ledger(located: { id: string; versionId: string }[], now: Date): LedgerEntry[];
}

/** The entries of one record's writes (and their Provenances, when given) for a transaction Bundle. */
export function transactionPart(targetName: string, writes: PlannedWrite[], provenance?: TransactionProvenance): TransactionPart {
  const provs = provenanceEntries(writes, targetName, provenance);
  const entries = [...writes.map(writeEntry), ...provs.map((p) => p.entry)];
  const tagSystem = provenance ? writeTagSystem(provenance.settings.ns) : '';
  return {
    entries,
    conditions: entries.map((e) => (e.request?.ifNoneExist ? `${e.request.url}?${e.request.ifNoneExist}` : e.request?.url ?? '')).filter((c) => c.includes('?')),
    ledger(located, now) {
      const ledger = writes.map((w, i) => ledgerFor(targetName, w, located[i].id, located[i].versionId, now));
      provs.forEach((p, n) => {
        const iv = located[writes.length + n];
        ledger.push({
          target: targetName,
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
    },
  };
}

/**
 * Reads a transaction's response: the server id and version of each entry sent, in order. The one place
 * that interprets a transaction-response Bundle (per-entry statuses belong here).
 * @throws OperationOutcomeError (502) when the response does not account for every entry.
 */
export function readTransactionResponse(sentEntries: number, response: Bundle): { id: string; versionId: string }[] {
  const entries = response.entry ?? [];
  if (entries.length !== sentEntries) {
    throw new OperationOutcomeError(upstreamFailed(502, undefined, `Transaction response has ${entries.length} entries for ${sentEntries} sent`));
  }
  return entries.map((e, i) => {
    const iv = idAndVersion({ resource: e.resource, location: e.response?.location, etag: e.response?.etag });
    if (!iv) {
      throw new OperationOutcomeError(upstreamFailed(502, undefined, `Transaction response entry ${i} has no resource id or version`));
    }
    return iv;
  });
}

/**
 * Sends several records' parts as one transaction Bundle (all-or-nothing) and returns each part's
 * ledger entries, in order.
 * @throws OperationOutcomeError (upstreamFailed) when the target refuses or does not answer.
 */
export async function sendTransactionParts(target: FhirTarget, parts: TransactionPart[]): Promise<LedgerEntry[][]> {
  // See https://hl7.org/fhir/R4/http.html#transaction
  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: parts.flatMap((p) => p.entries) };
  const located = readTransactionResponse(bundle.entry?.length ?? 0, await target.transaction(bundle));
  const now = new Date();
  let offset = 0;
  return parts.map((p) => {
    const mine = located.slice(offset, offset + p.entries.length);
    offset += p.entries.length;
    return p.ledger(mine, now);
  });
}

/**
 * Sends one record's writes and returns the ledger entries for them (and their Provenances).
 * @throws OperationOutcomeError (upstreamFailed) when the target refuses or does not answer.
 */
export async function sendTransaction(target: FhirTarget, writes: PlannedWrite[], provenance?: TransactionProvenance): Promise<LedgerEntry[]> {
  const [ledger] = await sendTransactionParts(target, [transactionPart(target.name, writes, provenance)]);
  return ledger;
}
