/**
 * Execute: writes prepared records (decide.ts, prepare.ts) to the target, driven by their plans. Only
 * target I/O, plus the ledger writes the exactly-once protocol needs between sequential steps (each
 * confirmed resource recorded before the next step, write intents before a create nothing could find
 * again, and the ledger reads just before each write: writers/): a kill -9 between two requests leaves
 * a ledger that matches the target. The outcome of each record is returned for commit (commit.ts).
 *
 * Records in transaction mode share transaction Bundles (up to SYNC_MAX_BUNDLE_ENTRIES entries, never
 * two equal conditions in one); records in batch mode share batch Bundles through one BatchExecutor;
 * sequential ones go one request at a time each. Before any of it, the Provenance of each version a
 * record's new version supersedes is settled (found, or written).
 *
 * Each record keeps its own result (its ledger entries, audit and state are its own). A combined
 * transaction is all-or-nothing, so one that the target refuses as a whole is not the records' fault
 * until proven: each record is sent again alone and gets its own answer (isolation), except when the
 * target paces us (429, Retry-After) or refuses our credentials, which concern every record alike.
 */
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import type { LedgerEntry, Store, StoredRecord } from '../store/port.js';
import { withoutTransactions } from './decide.js';
import type { Plan, PlannedWrite } from './plan.js';
import type { ProvenanceContext, ProvenanceSettings } from './provenance.js';
import { ProvenanceWrites } from './provenance-writes.js';
import type { TransactionLimits } from './transaction-limits.js';
import { type WriteMode, writeOrdered } from './writers/index.js';
import { NotWritableError } from './writers/errors.js';
import { BatchExecutor, type Executor } from './writers/exec.js';
import { ensureProvenance } from './writers/provenance-step.js';
import { type PartResult, refusedAsTooLarge, sendTransactionParts, type TransactionOutcome, type TransactionPart, transactionPart } from './writers/transaction.js';

export interface DeliveryOptions {
  store: Pick<Store, 'ledger'>;
  target: FhirTarget;
  provenance: ProvenanceSettings;
  /** What this target's transactions turned out to be, learned while running (shared with the planner). */
  limits: TransactionLimits;
  /** A forced write mode (SYNC_WRITE_MODE); automatic otherwise. */
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
  private readonly provenance: ProvenanceWrites;
  private readonly limits: TransactionLimits;

  constructor(private readonly o: DeliveryOptions) {
    this.provenance = new ProvenanceWrites({ target: o.target, store: o.store, settings: o.provenance, maxBundleEntries: o.maxBundleEntries });
    this.limits = o.limits;
  }

  /**
   * Writes prepared records together where the target allows it; one result per record, in order.
   * Records in transaction mode share transaction Bundles; in batch mode their requests share batch
   * Bundles; the others (sequential, nothing to write) go one after the other, so a slot never has more
   * than one request of its own in flight on a target without Bundles.
   */
  async write(prepared: Prepared[]): Promise<DeliveryResult[]> {
    const results = new Array<DeliveryResult>(prepared.length);
    // The Provenances of the versions these records supersede first (provenance-writes.ts).
    const settled = await this.provenance.settleSuperseded(prepared);
    settled.forEach((s, i) => {
      if (!s.ok) {
        results[i] = { outcome: 'failed', mode: prepared[i].mode, error: s.error, attempted: prepared[i].plan.writes, ledger: [] };
      }
    });
    const together: number[] = [];
    const batch: number[] = [];
    const alone: number[] = [];
    prepared.forEach((p, i) => {
      if (results[i]) {
        // Failed while settling what it supersedes: its new version waits for the next attempt.
        return;
      }
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
        for (const group of packBundles(together.map((i) => ({ i, part: this.partOf(prepared[i]) })), this.limits.maxEntries)) {
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
    settled.forEach((s, i) => {
      if (s.ok && s.entries.length > 0) {
        results[i] = { ...results[i], ledger: [...s.entries, ...results[i].ledger] };
      }
    });
    return results;
  }

  /** A record's share of a transaction: its resources only (Provenances follow once those are confirmed). */
  private partOf(p: Prepared): TransactionPart {
    return transactionPart(p.plan.writes);
  }

  /**
   * One transaction for several records. Refused as a whole: as too large for the target, sent again in
   * smaller Bundles; otherwise each record is sent again alone. Answered entry by entry (a target that
   * did not apply it all-or-nothing): each record gets its own entries' outcome, and the target is
   * written in order from now on (TransactionLimits).
   */
  private async sendTogether(prepared: Prepared[], parts: TransactionPart[]): Promise<DeliveryResult[]> {
    let outcome: TransactionOutcome;
    try {
      outcome = await sendTransactionParts(this.o.target, parts);
    } catch (err) {
      const sent = parts.reduce((n, p) => n + p.entries.length, 0);
      if (refusedAsTooLarge(err) && sent > 1) {
        this.limits.tooLarge(err, sent);
        return this.sendSmaller(prepared, parts);
      }
      if (prepared.length === 1 || !worthIsolating(err)) {
        return prepared.map((p) => ({ outcome: 'failed', mode: 'transaction', error: err, attempted: p.plan.writes, ledger: [] }));
      }
      const out: DeliveryResult[] = [];
      for (const p of prepared) {
        out.push(await this.writeAlone(p));
      }
      return out;
    }
    if (outcome.refused > 0) {
      this.limits.notAtomic(outcome.refused);
    }
    // The Provenances of every record of the Bundle share batch Bundles where the target takes them.
    const exec = this.provenance.executor(prepared[0].caps);
    return Promise.all(prepared.map((p, n) => this.afterTransaction(p, outcome.parts[n], prepared.length, exec)));
  }

  /** Records whose transaction was too large, in Bundles within the lowered limit; one too large alone is written in order. */
  private async sendSmaller(prepared: Prepared[], parts: TransactionPart[]): Promise<DeliveryResult[]> {
    const out = new Array<DeliveryResult>(prepared.length);
    for (const group of packBundles(prepared.map((p, i) => ({ i, part: parts[i] })), this.limits.maxEntries)) {
      if (group.length === 1 && group[0].part.entries.length > this.limits.maxEntries) {
        const p = prepared[group[0].i];
        out[group[0].i] = await this.writeAlone({ ...p, mode: this.withoutTransactions(p.caps) });
        continue;
      }
      const res = await this.sendTogether(group.map((g) => prepared[g.i]), group.map((g) => g.part));
      group.forEach((g, n) => (out[g.i] = res[n]));
    }
    return out;
  }

  /**
   * A record's result once its transaction was answered. Its confirmed resources go into the ledger; where
   * all of them were confirmed, their Provenances are written now (each at most once, see
   * provenance-step.ts), pointing at the versions the target confirmed.
   */
  private async afterTransaction(p: Prepared, part: PartResult, together: number, exec: Executor): Promise<DeliveryResult> {
    const written = [...part.ledger];
    if (!part.ok) {
      // What the target holds is recorded, so the next attempt continues from there instead of guessing.
      await this.o.store.ledger.recordLedger(written).catch(() => undefined);
      return { outcome: 'failed', mode: 'transaction', error: part.error, attempted: p.plan.writes, ledger: written };
    }
    const shared = together > 1 ? { together } : {};
    try {
      await this.o.store.ledger.recordLedger(written);
      const provs = await Promise.allSettled([
        ...p.plan.writes.map((w, i) => ensureProvenance(written[i], !w.existing, p.contextFor(w), this.provenance.deps(p.caps, exec))),
        this.provenanceOfUnchanged(p.plan, p.caps, p.contextFor, exec),
      ]);
      for (const r of provs) {
        if (r.status === 'fulfilled' && r.value) {
          written.push(...(Array.isArray(r.value) ? r.value : [r.value]));
        }
      }
      const failed = provs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        throw failed.reason;
      }
    } catch (err) {
      return { outcome: 'failed', mode: 'transaction', error: err, attempted: p.plan.writes, ledger: written };
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
    if (mode === 'transaction' && this.transactionsFit(plan.writes.length)) {
      return (await this.sendTogether([p], [this.partOf(p)]))[0];
    }
    const ordered = mode === 'transaction' ? this.withoutTransactions(caps) : mode;
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
          ordered === 'batch'
        ))
      );
      // A resource an interrupted attempt confirmed without its Provenance gets it now.
      written.push(...(await this.provenanceOfUnchanged(plan, caps, contextFor)));
    } catch (err) {
      if (err instanceof NotWritableError) {
        return { outcome: 'not-writable', reason: err.text, ledger: await this.o.store.ledger.getLedgerForRecord(this.o.target.name, record.kind, record.id) };
      }
      return { outcome: 'failed', mode: ordered, error: err, attempted: plan.writes, ledger: written };
    }
    return { outcome: 'written', mode: ordered, ledger: written, ...(note ? { note } : {}) };
  }

  /** Whether `entries` may go as a transaction on this target, as far as we have learned. */
  private transactionsFit(entries: number): boolean {
    return this.limits.atomic && entries <= this.limits.maxEntries;
  }

  /** The ordered mode used instead of a transaction: batch where offered, else sequential. */
  private withoutTransactions(caps: TargetCapabilities): WriteMode {
    return withoutTransactions(caps, this.o.writeMode);
  }

  private provenanceOfUnchanged(plan: Plan, caps: TargetCapabilities, contextFor: Prepared['contextFor'], exec?: Executor): Promise<LedgerEntry[]> {
    return this.provenance.ofEntries(plan.unchanged, plan, caps, contextFor, exec);
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
 * us (429, or any answer with Retry-After) and refusing our credentials (401). A 403 may concern one
 * record's resource type only (a token without `system/Consent.c`), so it is isolated too.
 */
function worthIsolating(err: unknown): boolean {
  if (err instanceof UpstreamError) {
    return !(err.status === 429 || err.status === 401 || err.retryAfterMs !== undefined);
  }
  return true;
}
