/**
 * Delivery of permitted records to the target, after the disclosure gate, in two steps:
 *
 * 1. `prepare` (per record): plan from the target's capabilities (map, skip what the ledger has,
 *    resolve references, validate) and choose the writer (transaction, batch or sequential);
 * 2. `write` (several records at once): records in transaction mode share transaction Bundles (up to
 *    SYNC_MAX_BUNDLE_ENTRIES entries, never two equal conditions in one); records in batch mode share
 *    batch Bundles through one BatchExecutor; sequential ones go one request at a time each.
 *
 * Each record keeps its own result (its ledger entries, audit and state are its own). A combined
 * transaction is all-or-nothing, so one that the target refuses as a whole is not the records' fault
 * until proven: each record is sent again alone and gets its own answer (isolation), except when the
 * target paces us (429, Retry-After) or refuses our credentials, which concern every record alike.
 * Errors before anything was sent (a HoldError, invalid output, an unreadable CapabilityStatement) are
 * thrown to the worker as they are.
 */
import type { CapabilityCache, TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import type { LedgerEntry, Store, StoredRecord } from '../store/port.js';
import type { RecordToMap } from './context.js';
import type { DisclosureDecision } from './gate.js';
import type { IdentityResolver } from './identity.js';
import { type Plan, type PlannedWrite, planWrites } from './plan.js';
import type { ProvenanceContext, ProvenanceSettings } from './provenance.js';
import { roiFormDocument } from './roi-document.js';
import { chooseWriteMode, type WriteMode, provenanceInTransaction, writeOrdered } from './writers/index.js';
import { NotWritableError } from './writers/errors.js';
import { BatchExecutor } from './writers/exec.js';
import { ensureProvenance } from './writers/provenance-step.js';
import { sendTransactionParts, type TransactionPart, transactionPart } from './writers/transaction.js';

export interface DeliveryOptions {
  store: Pick<Store, 'ledger' | 'status'>;
  target: FhirTarget;
  capabilities: CapabilityCache;
  identity: IdentityResolver;
  mappings: MappingSet;
  mappingConfig: MappingConfig;
  provenance: ProvenanceSettings;
  /** Send the signed ROI form as a DocumentReference (LOINC 64292-6) where DocumentReference is writable. */
  roiDocument: boolean;
  /** Force a write mode the target supports (SYNC_WRITE_MODE); automatic otherwise. */
  writeMode?: WriteMode;
  /** Most entries in one transaction or batch Bundle (SYNC_MAX_BUNDLE_ENTRIES). */
  maxBundleEntries: number;
}

/** What the attempt did. */
export type DeliveryResult =
  | { outcome: 'unchanged'; ledger: LedgerEntry[]; note?: string }
  | { outcome: 'written'; mode: WriteMode; ledger: LedgerEntry[]; note?: string; together?: number }
  | { outcome: 'not-writable'; reason: string; ledger: LedgerEntry[] }
  | { outcome: 'failed'; mode: WriteMode; error: unknown; attempted: PlannedWrite[]; ledger: LedgerEntry[] };

/** A record planned and ready to write. */
export interface Prepared {
  record: StoredRecord;
  plan: Plan;
  caps: TargetCapabilities;
  mode: WriteMode;
  note?: string;
  contextFor(w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>): ProvenanceContext;
}

export class Delivery {
  constructor(private readonly o: DeliveryOptions) {}

  /** The target's capabilities (cached), for sizing a claim. @throws when the statement cannot be read. */
  capabilities(): Promise<TargetCapabilities> {
    return this.o.capabilities.get();
  }

  /** The write mode for this target, before any record is planned. */
  baseMode(caps: TargetCapabilities): WriteMode {
    return chooseWriteMode(caps, this.o.writeMode);
  }

  /**
   * Plans one permitted record: a ready Prepared, or at once the result when nothing of it can go.
   * @throws HoldError when a reference cannot be resolved yet; OperationOutcomeError when output is invalid.
   */
  async prepare(record: StoredRecord, records: RecordToMap[], decision: DisclosureDecision): Promise<Prepared | DeliveryResult> {
    const caps = await this.o.capabilities.get();
    const { ns, mrnSystem } = this.o.mappingConfig;
    const plan = await planWrites(records, this.o.mappings, this.o.store, this.o.target.name, this.o.identity, {
      caps,
      ...(this.o.roiDocument && caps.can('DocumentReference', 'create') ? { extra: (item: RecordToMap) => roiFormDocument(item, ns, mrnSystem) } : {}),
    });
    if (!plan.mainWritable) {
      return { outcome: 'not-writable', reason: notWritableReason(plan), ledger: [] };
    }
    const note = partialNote(plan);
    const consentRefs = await this.consentRefs(decision.consentIds ?? []);
    const contextFor = (w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>): ProvenanceContext => ({
      kind: w.mapped.sourceKind,
      recordId: w.mapped.sourceId,
      recordVersion: w.recordVersion,
      ...(w.author ? { author: w.author } : {}),
      consentIds: decision.consentIds ?? [],
      consentRefs,
      ...(decision.purposeOfUse ? { purposeOfUse: decision.purposeOfUse } : {}),
    });
    return { record, plan, caps, mode: this.modeFor(caps, plan.writes), ...(note ? { note } : {}), contextFor };
  }

  /**
   * Writes prepared records together where the target allows it; one result per record, in order.
   * Records in transaction mode share transaction Bundles; in batch mode their requests share batch
   * Bundles; the others (sequential, nothing to write) go one after the other, so a slot never has more
   * than one request of its own in flight on a target without Bundles.
   */
  async write(prepared: Prepared[]): Promise<DeliveryResult[]> {
    const results = new Array<DeliveryResult>(prepared.length);
    const together: number[] = [];
    const batch: number[] = [];
    const alone: number[] = [];
    prepared.forEach((p, i) => {
      if (p.plan.writes.length > 0 && p.mode === 'transaction') {
        together.push(i);
      } else if (p.plan.writes.length > 0 && p.mode === 'batch') {
        batch.push(i);
      } else {
        alone.push(i);
      }
    });
    const executor = new BatchExecutor(this.o.target, this.o.maxBundleEntries);
    await Promise.all([
      (async () => {
        for (const group of packBundles(together.map((i) => ({ i, part: this.partOf(prepared[i]) })), this.o.maxBundleEntries)) {
          const out = await this.sendTogether(group.map((g) => prepared[g.i]), group.map((g) => g.part));
          group.forEach((g, n) => (results[g.i] = out[n]));
        }
      })(),
      ...batch.map(async (i) => (results[i] = await this.writeAlone(prepared[i], executor))),
      (async () => {
        for (const i of alone) {
          results[i] = await this.writeAlone(prepared[i]);
        }
      })(),
    ]);
    return results;
  }

  /** Reads the CapabilityStatement again on the next attempt (a 405/501 says ours is stale). */
  refreshCapabilities(): void {
    this.o.capabilities.invalidate();
  }

  /** A record's share of a transaction; its Provenances ride along where the target creates them conditionally. */
  private partOf(p: Prepared): TransactionPart {
    const withProvenance = provenanceInTransaction(p.caps);
    return transactionPart(this.o.target.name, p.plan.writes, withProvenance ? { settings: this.o.provenance, contextFor: p.contextFor } : undefined);
  }

  /** One transaction for several records; refused as a whole, each record is sent again alone. */
  private async sendTogether(prepared: Prepared[], parts: TransactionPart[]): Promise<DeliveryResult[]> {
    let ledgers: LedgerEntry[][];
    try {
      ledgers = await sendTransactionParts(this.o.target, parts);
    } catch (err) {
      if (prepared.length === 1 || !worthIsolating(err)) {
        return prepared.map((p) => ({ outcome: 'failed', mode: 'transaction', error: err, attempted: p.plan.writes, ledger: [] }));
      }
      const out: DeliveryResult[] = [];
      for (const p of prepared) {
        out.push(await this.writeAlone(p));
      }
      return out;
    }
    const out: DeliveryResult[] = [];
    for (const [n, p] of prepared.entries()) {
      out.push(await this.afterTransaction(p, ledgers[n], prepared.length));
    }
    return out;
  }

  /**
   * A record's result once its transaction went through: where the Provenances could not ride in it,
   * they are written now, one by one (each at most once, see provenance-step.ts).
   */
  private async afterTransaction(p: Prepared, ledger: LedgerEntry[], together: number): Promise<DeliveryResult> {
    const written = [...ledger];
    const shared = together > 1 ? { together } : {};
    if (!provenanceInTransaction(p.caps)) {
      try {
        await this.o.store.ledger.recordLedger(written);
        for (const [i, w] of p.plan.writes.entries()) {
          const prov = await ensureProvenance(written[i], !w.existing, p.contextFor(w), this.provenanceDeps(p.caps));
          if (prov) {
            written.push(prov);
          }
        }
      } catch (err) {
        return { outcome: 'failed', mode: 'transaction', error: err, attempted: p.plan.writes, ledger: written };
      }
    }
    return { outcome: 'written', mode: 'transaction', ledger: written, ...(p.note ? { note: p.note } : {}), ...shared };
  }

  /** The per-record path: one transaction, or ordered writes (batch through `executor`, or sequential). */
  private async writeAlone(p: Prepared, executor?: BatchExecutor): Promise<DeliveryResult> {
    const { plan, caps, record, contextFor, note, mode } = p;
    if (plan.writes.length === 0) {
      // Nothing to send; a Provenance an interrupted attempt did not get to write is written now.
      const ledger = await this.provenanceOfUnchanged(plan, caps, contextFor);
      return { outcome: 'unchanged', ledger, ...(note ? { note } : {}) };
    }
    if (mode === 'transaction') {
      return (await this.sendTogether([p], [this.partOf(p)]))[0];
    }
    const written: LedgerEntry[] = [];
    try {
      written.push(
        ...(await writeOrdered(
          plan.writes,
          {
            target: this.o.target,
            caps,
            store: this.o.store,
            provenance: { settings: this.o.provenance, contextFor },
            ...(executor ? { batchExecutor: executor } : {}),
          },
          mode === 'batch'
        ))
      );
    } catch (err) {
      if (err instanceof NotWritableError) {
        return { outcome: 'not-writable', reason: err.text, ledger: await this.o.store.ledger.getLedgerForRecord(this.o.target.name, record.kind, record.id) };
      }
      return { outcome: 'failed', mode, error: err, attempted: plan.writes, ledger: written };
    }
    return { outcome: 'written', mode, ledger: written, ...(note ? { note } : {}) };
  }

  /** The transaction path needs the conditional operations its entries use, on every type written. */
  private modeFor(caps: TargetCapabilities, writes: PlannedWrite[]): WriteMode {
    const mode = chooseWriteMode(caps, this.o.writeMode);
    if (mode !== 'transaction') {
      return mode;
    }
    const conditional = writes.every((w) =>
      w.mapped.write === 'upsert' ? caps.type(w.resource.resourceType)?.conditionalUpdate : caps.type(w.resource.resourceType)?.conditionalCreate
    );
    return conditional ? 'transaction' : chooseWriteMode({ ...caps, transaction: false }, this.o.writeMode === 'transaction' ? undefined : this.o.writeMode);
  }

  private provenanceDeps(caps: TargetCapabilities): Parameters<typeof ensureProvenance>[3] {
    return { targetName: this.o.target.name, caps, store: this.o.store, exec: this.o.target, settings: this.o.provenance };
  }

  private async provenanceOfUnchanged(plan: Plan, caps: TargetCapabilities, contextFor: Prepared['contextFor']): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const l of plan.unchanged) {
      const context = contextFor({
        mapped: { sourceKind: l.kind, sourceId: l.recordId } as PlannedWrite['mapped'],
        recordVersion: l.recordVersion,
        ...(plan.mainAuthor ? { author: plan.mainAuthor } : {}),
      });
      // Whether that write created the resource is not remembered; version 1 is the best evidence.
      const prov = await ensureProvenance(l, l.versionId === '1', context, this.provenanceDeps(caps));
      if (prov) {
        out.push(prov);
      }
    }
    return out;
  }

  /** `Consent/{id}` for the consents the target holds (Provenance.policy), by our ROI identifier. */
  private async consentRefs(ids: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const id of ids) {
      const l = await this.o.store.ledger.getLedgerByIdentifier(this.o.target.name, 'Consent', `${this.o.mappingConfig.ns}/sid/roi|${id}`);
      if (l) {
        out[id] = `Consent/${l.resourceId}`;
      }
    }
    return out;
  }
}

/**
 * Packs records' transaction parts into Bundles of at most `maxEntries` entries (a record larger than
 * that goes alone), in order, never two equal conditional URLs in one Bundle (the server would refuse
 * it; two records creating the same Practitioner by NPI).
 */
export function packBundles<T extends { part: TransactionPart }>(items: T[], maxEntries: number): T[][] {
  const bundles: { items: T[]; size: number; conditions: Set<string> }[] = [];
  for (const item of items) {
    const fits = bundles.find(
      (b) => b.size + item.part.entries.length <= maxEntries && !item.part.conditions.some((c) => b.conditions.has(c))
    );
    if (fits) {
      fits.items.push(item);
      fits.size += item.part.entries.length;
      item.part.conditions.forEach((c) => fits.conditions.add(c));
    } else {
      bundles.push({ items: [item], size: item.part.entries.length, conditions: new Set(item.part.conditions) });
    }
  }
  return bundles.map((b) => b.items);
}

/**
 * Whether a combined transaction's failure may be one record's fault: everything but the target pacing
 * us (429, or any answer with Retry-After) and refusing our credentials (401, 403).
 */
function worthIsolating(err: unknown): boolean {
  if (err instanceof UpstreamError) {
    return !(err.status === 429 || err.status === 401 || err.status === 403 || err.retryAfterMs !== undefined);
  }
  return true;
}

function notWritableReason(plan: Plan): string {
  return `not writable on this target: ${plan.notWritable.map((n) => n.why).join('; ') || 'nothing of this record can be written there'}; kept in our store`;
}

/** Says what of a delivered record did not go (a type the target cannot hold, references left out). */
function partialNote(plan: Plan): string | undefined {
  const parts: string[] = [];
  if (plan.notWritable.length > 0) {
    parts.push(`kept in our store: ${plan.notWritable.map((n) => `${n.resourceType} (${n.why})`).join(', ')}`);
  }
  if (plan.logical.length > 0) {
    parts.push(`${plan.logical.join(', ')} referenced by identifier only (not writable on this target)`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}
