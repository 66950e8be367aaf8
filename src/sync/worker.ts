/**
 * The sync worker: claims due outbox entries (one per client at a time, so each client's records go in
 * order while clients proceed concurrently) and runs each claimed batch through four stages:
 *
 * 1. **load** (load.ts): the records, their dependencies and what the disclosure gate decides on, in a
 *    few reads for the whole batch;
 * 2. **decide** (decide.ts, plan.ts, the gate's `decideWith`: pure), per entry, yielding to the event
 *    loop between entries: blocked, held, or a plan and its write mode; the plan reads what it turns out
 *    to need on the way (plan-facts.ts: ledger entries, identities on the target);
 * 3. **execute** (deliver.ts, writers/): the writes, driven by the plans, together where the target
 *    takes Bundles; the ledger writes between sequential steps are part of its exactly-once protocol;
 * 4. **commit** (commit.ts: pure, then one `store.outbox.settle` per slot): settlements with their audit.
 *
 * Work runs in up to SYNC_CONCURRENCY slots; each slot claims what is due (up to what fits one Bundle
 * where the target takes transactions or batches, one record otherwise). A failure goes to the retry
 * policy (policy.ts): held until what it waits for arrives, retried with backoff, or parked as a dead
 * letter; a record that keeps failing only delays itself, never its client's others.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CapabilityCache, type TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import type { Logger } from '../logger.js';
import { NO_SYNC_METRICS, type SyncMetrics } from '../metrics/sync-metrics.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import type { LedgerEntry, OutboxEntry, Store } from '../store/port.js';
import { type Attempt, type CommitSettings, type Committed, commitFailure, commitResult } from './commit.js';
import { clientMrnOf, withDisclosure } from './context.js';
import { disclosureVerdict, withDecisionWaits } from './decide.js';
import { Delivery, type DeliveryResult, type Prepared } from './deliver.js';
import { type DisclosureGate, permitAll } from './gate.js';
import { IdentityResolver } from './identity.js';
import { loadBatch, type LoadedEntry } from './load.js';
import { Planner } from './prepare.js';
import { logSettlement } from './settle-log.js';
import type { ProvenanceSettings } from './provenance.js';
import { TransactionLimits } from './transaction-limits.js';
import { chooseWriteMode, type WriteMode } from './writers/index.js';

export interface SyncWorkerOptions {
  store: Store;
  target: FhirTarget;
  mappings: MappingSet;
  mappingConfig: MappingConfig;
  logger: Logger;
  pollIntervalMs: number;
  /** Slots working at once (each one claim: a Bundle's worth of records, or one record). */
  concurrency: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  requestTimeoutMs: number;
  /** Consent and privacy decision per record, asked right before sending. Default: permit. */
  gate?: DisclosureGate;
  /** Failures of one record version before it is parked, and the longest it may keep failing. */
  maxAttempts?: number;
  maxAgeMs?: number;
  /** How long the target's CapabilityStatement is trusted before it is read again. Default 1 h. */
  capabilitiesTtlMs?: number;
  /**
   * Changes what the target's CapabilityStatement says before planning: tests make a real server look
   * smaller (or claim more than it offers, to draw its real refusals).
   */
  adjustCapabilities?: (caps: TargetCapabilities) => TargetCapabilities;
  /** Force a write mode (SYNC_WRITE_MODE) the target supports. */
  writeMode?: WriteMode;
  /** The practice Organization named in Provenance (`{ns}/sid/organization|{practiceId}`). Default "practice". */
  practiceId?: string;
  /** Send the signed ROI form as a DocumentReference (LOINC 64292-6) where DocumentReference is writable. */
  roiDocument?: boolean;
  /** The slow periodic recheck of a held record when no event releases it (SYNC_HELD_RECHECK_MS). Default 1 h. */
  heldRecheckMs?: number;
  /** Most entries in one transaction or batch Bundle (SYNC_MAX_BUNDLE_ENTRIES). Default 50; 1 sends each record alone. */
  maxBundleEntries?: number;
  /** Claims, sends and attempts by outcome (Prometheus, src/metrics). Default: not measured. */
  metrics?: SyncMetrics;
  /**
   * Awaited after the target answered and before the outcomes are settled, with each written record and
   * the ledger entries its attempt confirmed: the local copy of what was sent (src/local-copy) makes sure
   * it holds them. A throw leaves the slot's records unsettled; they are retried once their lease ends.
   */
  beforeSettle?: (delivered: { kind: OutboxEntry['kind']; recordId: string; ledger: LedgerEntry[] }[]) => Promise<void>;
}

/** A claimed entry after decide: ready to write, with what its audit needs. */
interface Ready extends Attempt {
  prepared: Prepared;
}

/** Entries a Bundle's worth of records needs, on average (a resource and its Provenance, which follows in a batch). */
const ENTRIES_PER_RECORD = 2;

export class SyncWorker {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private readonly capabilities: CapabilityCache;
  private readonly planner: Planner;
  private readonly delivery: Delivery;
  private readonly gate: DisclosureGate;
  private readonly commitSettings: CommitSettings;
  private readonly maxBundleEntries: number;
  private readonly metrics: SyncMetrics;
  /** The target asked us to wait (429/503 with Retry-After): nothing is sent before this time. */
  private pausedUntil = 0;
  /** Slots at work: up to `concurrency`, each with its own clients. */
  private readonly inFlight = new Set<Promise<void>>();
  /** A wake() that came while the loop was not asleep; the next sleep returns at once. */
  private woken = false;
  /** Ends the subscription to other instances' "work may be due" signals (a shared store). */
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: SyncWorkerOptions) {
    const provenance: ProvenanceSettings = { ns: o.mappingConfig.ns, practiceId: o.practiceId ?? 'practice' };
    this.maxBundleEntries = o.maxBundleEntries ?? 50;
    this.metrics = o.metrics ?? NO_SYNC_METRICS;
    this.gate = o.gate ?? permitAll;
    this.capabilities = new CapabilityCache(o.target, o.capabilitiesTtlMs ?? 3_600_000, o.adjustCapabilities);
    // What the target's transactions turn out to be: learned by execute, used by decide.
    const limits = new TransactionLimits(o.target.name, this.maxBundleEntries, o.logger);
    const writeMode = o.writeMode ? { writeMode: o.writeMode } : {};
    this.planner = new Planner({
      store: o.store,
      targetName: o.target.name,
      identity: new IdentityResolver(o.target),
      mappings: o.mappings,
      mappingConfig: o.mappingConfig,
      roiDocument: o.roiDocument ?? false,
      limits,
      ...writeMode,
    });
    this.delivery = new Delivery({ store: o.store, target: o.target, provenance, limits, maxBundleEntries: this.maxBundleEntries, ...writeMode });
    this.commitSettings = {
      ns: o.mappingConfig.ns,
      mrnSystem: o.mappingConfig.mrnSystem,
      target: o.target.name,
      targetBaseUrl: o.target.baseUrl,
      retry: { maxAttempts: o.maxAttempts ?? 10, maxAgeMs: o.maxAgeMs ?? 86_400_000, minBackoffMs: o.minBackoffMs, maxBackoffMs: o.maxBackoffMs },
      heldRecheckMs: o.heldRecheckMs ?? 3_600_000,
    };
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    // A store shared by several instances tells us when another one made work due (PostgreSQL: NOTIFY).
    this.unsubscribe = this.o.store.outbox.onWorkMaybeDue?.(this.o.target.name, () => this.wake());
    // A wake-up lost to a crash between a commit and its event is made good here: what was held looks again once.
    this.loopDone = this.o.store.outbox
      .wakeWaiting({ target: this.o.target.name, state: 'held' })
      .catch(() => 0)
      .then(() => this.loop());
  }

  /**
   * Stops claiming and waits for the slots at work, at most `graceMs`: a send still in flight after that
   * is abandoned (its lease is released when the store opens again; its outcome is unknown, and the next
   * attempt looks before writing). Nothing acknowledged is lost either way.
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      if (Number.isFinite(graceMs)) {
        timer = setTimeout(resolve, graceMs);
      }
    });
    await Promise.race([this.loopDone, ...(Number.isFinite(graceMs) ? [deadline] : [])]);
    clearTimeout(timer);
  }

  /** Looks for work now (called after a write, and when a slot is done). */
  wake(): void {
    if (this.wakeUp) {
      this.wakeUp();
    } else {
      this.woken = true;
    }
  }

  /**
   * A pool of slots, not rounds: a free slot is filled as soon as one is done, so one slow Bundle (a
   * timeout, a long Retry-After) delays its own clients only.
   */
  private async loop(): Promise<void> {
    while (this.running) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) {
        await this.sleep(pause);
        continue;
      }
      const free = this.o.concurrency - this.inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const perSlot = await this.recordsPerSlot();
          // A lease outlives one slot's work comfortably (each record may need a request of its own when isolated).
          const leaseMs = this.o.requestTimeoutMs * (perSlot + 4) + 5_000;
          const claimStarted = performance.now();
          const entries = await this.o.store.outbox.claimOutbox(this.o.target.name, free * perSlot, leaseMs);
          this.metrics.observeClaim(this.o.target.name, performance.now() - claimStarted, entries.length);
          claimed = entries.length;
          for (let i = 0; i < entries.length; i += perSlot) {
            this.startSlot(entries.slice(i, i + perSlot));
          }
        } catch (err) {
          this.o.logger.error('sync loop error', { error: errorName(err) });
        }
      }
      if ((claimed === 0 || this.inFlight.size >= this.o.concurrency) && this.running) {
        await this.sleep();
      }
    }
    await Promise.all([...this.inFlight]);
  }

  /** Records one slot takes: what fits one Bundle where records can share one, else one. */
  private async recordsPerSlot(): Promise<number> {
    const caps = await this.capabilities.get().catch(() => undefined);
    if (!caps || chooseWriteMode(caps, this.o.writeMode) === 'sequential') {
      return 1;
    }
    return Math.max(1, Math.floor(this.maxBundleEntries / ENTRIES_PER_RECORD));
  }

  private startSlot(entries: OutboxEntry[]): void {
    const done: Promise<void> = this.runSlot(entries)
      .catch((err: unknown) => {
        this.o.logger.error('sync loop error', { error: errorName(err) });
      })
      .finally(() => {
        this.inFlight.delete(done);
        this.wake();
      });
    this.inFlight.add(done);
  }

  private async sleep(exactMs?: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    let ms = exactMs;
    if (ms === undefined) {
      const due = await this.o.store.outbox.nextDueAt(this.o.target.name).catch(() => undefined);
      const untilDue = due ? Math.max(0, due.getTime() - Date.now()) : this.o.pollIntervalMs;
      ms = Math.min(this.o.pollIntervalMs, untilDue);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
    this.woken = false;
  }

  /** One claimed batch through load, decide, execute and commit. */
  private async runSlot(entries: OutboxEntry[]): Promise<void> {
    const started = Date.now();
    const loaded = await loadBatch(this.o.store, this.gate, entries, this.o.mappingConfig);
    const early: Committed[] = [];
    const ready: Ready[] = [];
    for (const l of loaded) {
      await yieldToLoop();
      const r = await this.decide(l);
      if ('settlement' in r) {
        early.push(r);
      } else {
        ready.push(r);
      }
    }
    await this.commit(early, started);
    if (ready.length === 0) {
      return;
    }
    const results = await this.execute(ready);
    // Between execute and commit: the local copy of what was sent (src/local-copy) makes sure it holds
    // what the target confirmed before the outcomes are settled.
    await this.o.beforeSettle?.(ready.map((r, i) => ({ kind: r.entry.kind, recordId: r.entry.recordId, ledger: results[i].ledger })));
    await this.commit(
      ready.map((r, i) => this.logged(r, results[i], commitResult(r, results[i], this.commitSettings))),
      started,
      ready.map((r) => r.prepared.record.updatedAt)
    );
  }

  /**
   * Decide for one loaded entry: its settlement at once (record gone, blocked, held, nothing of it
   * writable) or ready to write. The plan reads the ledger and the target's identities it needs.
   */
  private async decide(l: LoadedEntry): Promise<Ready | Committed> {
    const { entry, record } = l;
    if (!record) {
      return { settlement: { entry, state: 'synced', ledger: [] } };
    }
    if ('error' in l) {
      return commitFailure(entry, l.error, this.commitSettings);
    }
    try {
      const decision = this.gate.decideWith({ main: record, records: l.records, target: entry.target, now: new Date() }, l.gateFacts);
      this.o.logger.debug('sync decision', { kind: entry.kind, recordId: entry.recordId, effect: decision.effect, consents: decision.consentIds ?? [] });
      const verdict = disclosureVerdict(entry, decision);
      if ('settle' in verdict) {
        return { settlement: verdict.settle };
      }
      if ('hold' in verdict) {
        return commitFailure(entry, verdict.hold, this.commitSettings);
      }
      let prepared: Prepared | DeliveryResult;
      try {
        const caps = await this.capabilities.get();
        // The mappings label and link what they produce with the consents (or exception) the gate relied on.
        prepared = await this.planner.prepare(record, withDisclosure(l.records, decision), decision, caps);
      } catch (err) {
        // Held later in the attempt (a missing Patient, a dependency): a change of its consents looks again too.
        throw withDecisionWaits(err, decision);
      }
      if ('outcome' in prepared) {
        return this.logged({ entry }, prepared, commitResult({ entry, audited: record, decision }, prepared, this.commitSettings));
      }
      // A note stored before its session has no client of its own: the accounting files it under the session's.
      return { entry, audited: { ...record, clientMrn: clientMrnOf(l.records) }, decision, prepared };
    } catch (err) {
      return commitFailure(entry, err, this.commitSettings);
    }
  }

  /** Execute: the ready records' writes, one result per record (a failure is a result, never thrown). */
  private async execute(ready: Ready[]): Promise<DeliveryResult[]> {
    const sendStarted = performance.now();
    // write() reports each record's failure in its result; anything thrown here is a bug, recorded for each record.
    const results = await this.delivery
      .write(ready.map((r) => r.prepared))
      .catch((err: unknown) => ready.map((r): DeliveryResult => ({ outcome: 'failed', mode: r.prepared.mode, error: err, attempted: r.prepared.plan.writes, ledger: [] })));
    this.metrics.observeSend(this.o.target.name, ready[0].prepared.mode, performance.now() - sendStarted, ready.length);
    return results;
  }

  private logged(r: Pick<Attempt, 'entry'>, result: DeliveryResult, c: Committed): Committed {
    this.o.logger.debug('sync write', {
      kind: r.entry.kind,
      recordId: r.entry.recordId,
      outcome: result.outcome,
      ...('mode' in result ? { mode: result.mode } : {}),
      ...('together' in result && result.together ? { together: result.together } : {}),
    });
    return c;
  }

  /**
   * Commit: applies what the settlements tell the worker (a pause of the target, a stale
   * CapabilityStatement), commits them in one transaction and logs each change.
   */
  private async commit(committed: Committed[], startedAt: number, receivedAt?: string[]): Promise<void> {
    if (committed.length === 0) {
      return;
    }
    for (const c of committed) {
      if (c.pauseTargetMs !== undefined) {
        // Retry-After paces the whole target, not only this record.
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + c.pauseTargetMs);
        this.metrics.observeTargetPause(c.pauseTargetMs / 1000);
      }
      if (c.refreshCapabilities) {
        this.capabilities.invalidate();
      }
      if (c.internalError) {
        this.o.logger.error('sync internal error', { kind: c.settlement.entry.kind, recordId: c.settlement.entry.recordId, error: c.internalError });
      }
    }
    const settlements = committed.map((c) => c.settlement);
    const results = await this.o.store.outbox.settle(settlements);
    settlements.forEach((s, i) => logSettlement(this.o.logger, s, results[i]));
    this.metrics.observeSettlements(this.o.target.name, settlements, results, startedAt, receivedAt);
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
