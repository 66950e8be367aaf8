/**
 * The sync worker: claims due outbox entries (one per client at a time, so each client's records go in
 * order while clients proceed concurrently), asks the disclosure gate, delivers (deliver.ts) and records
 * the outcome. A failure is handled by the retry policy (policy.ts): held, retried with backoff, or
 * parked as a dead letter; a record that keeps failing only delays itself, never its client's others.
 */
import { buildWriteAudit } from '../audit/events.js';
import { CapabilityCache, type TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import type { Logger } from '../logger.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import { toOutcome } from '../outcomes.js';
import type { OutboxEntry, Store, StoredRecord } from '../store/port.js';
import { clientMrnOf, gatherRecords, withDisclosure } from './context.js';
import { type DisclosureDecision, type DisclosureGate, permitAll } from './gate.js';
import { HoldError } from './hold.js';
import { Delivery, type DeliveryResult } from './deliver.js';
import { IdentityResolver } from './identity.js';
import { dispose, type RetryPolicy } from './policy.js';
import type { ProvenanceSettings } from './provenance.js';
import type { WriteMode } from './writers/index.js';

export interface SyncWorkerOptions {
  store: Store;
  target: FhirTarget;
  mappings: MappingSet;
  mappingConfig: MappingConfig;
  logger: Logger;
  pollIntervalMs: number;
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
}

export class SyncWorker {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private readonly identity: IdentityResolver;
  private readonly delivery: Delivery;
  private readonly retry: RetryPolicy;
  /** The target asked us to wait (429/503 with Retry-After): nothing is sent before this time. */
  private pausedUntil = 0;
  /** Records being processed: up to `concurrency`, each of another client. */
  private readonly inFlight = new Set<Promise<void>>();
  /** A wake() that came while the loop was not asleep; the next sleep returns at once. */
  private woken = false;

  constructor(private readonly o: SyncWorkerOptions) {
    this.identity = new IdentityResolver(o.target);
    const provenance: ProvenanceSettings = { ns: o.mappingConfig.ns, practiceId: o.practiceId ?? 'practice' };
    this.delivery = new Delivery({
      store: o.store,
      target: o.target,
      capabilities: new CapabilityCache(o.target, o.capabilitiesTtlMs ?? 3_600_000, o.adjustCapabilities),
      identity: this.identity,
      mappings: o.mappings,
      mappingConfig: o.mappingConfig,
      provenance,
      roiDocument: o.roiDocument ?? false,
      ...(o.writeMode ? { writeMode: o.writeMode } : {}),
    });
    this.retry = {
      maxAttempts: o.maxAttempts ?? 10,
      maxAgeMs: o.maxAgeMs ?? 86_400_000,
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
    };
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
  }

  /** Looks for work now (called after a write, and when a record is done). */
  wake(): void {
    if (this.wakeUp) {
      this.wakeUp();
    } else {
      this.woken = true;
    }
  }

  /**
   * A pool, not rounds: a free slot is filled as soon as a record is done, so one slow record (a
   * timeout, a long Retry-After) delays its own client only.
   */
  private async loop(): Promise<void> {
    // A lease outlives one attempt comfortably; an instance that dies mid-send frees its entries when it expires.
    const leaseMs = this.o.requestTimeoutMs * 4 + 5_000;
    while (this.running) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) {
        await this.sleep(pause);
        continue;
      }
      const free = this.o.concurrency - this.inFlight.size;
      let claimed: OutboxEntry[] = [];
      if (free > 0) {
        try {
          claimed = await this.o.store.outbox.claimOutbox(this.o.target.name, free, leaseMs);
        } catch (err) {
          this.o.logger.error('sync loop error', { error: errorName(err) });
        }
        for (const e of claimed) {
          const done: Promise<void> = this.process(e)
            .catch((err: unknown) => {
              this.o.logger.error('sync loop error', { error: errorName(err) });
            })
            .finally(() => {
              this.inFlight.delete(done);
              this.wake();
            });
          this.inFlight.add(done);
        }
      }
      if ((claimed.length === 0 || this.inFlight.size >= this.o.concurrency) && this.running) {
        await this.sleep();
      }
    }
    await Promise.all([...this.inFlight]);
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

  /** Processes one outbox entry to its next state. Never throws. */
  async process(entry: OutboxEntry): Promise<void> {
    const { store, logger } = this.o;
    const log = { kind: entry.kind, recordId: entry.recordId, target: entry.target, attempt: entry.attempts + 1 };
    const record = await store.records.getRecord(entry.kind, entry.recordId);
    if (!record) {
      await store.outbox.completeOutbox(entry, []);
      return;
    }
    const current = { ...entry, recordVersion: record.version };
    try {
      const records = await gatherRecords(store, record, this.o.mappingConfig);
      const decision = await (this.o.gate ?? permitAll).decide({ main: record, records, target: entry.target, now: new Date() });
      if (decision.effect === 'deny') {
        await store.outbox.blockOutbox(current, decision.reasons.join('; '));
        logger.info('record blocked by policy', log);
        return;
      }
      if (decision.effect === 'hold') {
        throw new HoldError('no-consent', decision.reasons.join('; '));
      }
      // The mappings label and link what they produce with the consents (or exception) the gate relied on.
      const result = await this.delivery.deliver(record, withDisclosure(records, decision), decision);
      // A note stored before its session has no client of its own: the accounting files it under the session's.
      const audited = { ...record, clientMrn: clientMrnOf(records) };
      await this.settle(current, audited, decision, result, log);
    } catch (err) {
      await this.defer(current, err, log);
    }
  }

  /** Records what a delivery attempt did: synced, not writable, or a failure for the retry policy. */
  private async settle(
    entry: OutboxEntry,
    record: StoredRecord,
    decision: DisclosureDecision,
    result: DeliveryResult,
    log: Record<string, unknown>
  ): Promise<void> {
    const { store, logger } = this.o;
    switch (result.outcome) {
      case 'unchanged':
        await store.outbox.completeOutbox(entry, result.ledger, [], result.note);
        return;
      case 'not-writable':
        await store.outbox.markNotWritable(entry, result.reason, result.ledger);
        logger.info('record not writable on the target', log);
        return;
      case 'written': {
        const resources = result.ledger.filter((l) => l.resourceType !== 'Provenance');
        await store.outbox.completeOutbox(entry, result.ledger, [this.audit(record, entry.recordVersion, resources, decision, undefined, result.mode)], result.note);
        logger.info('record synced', { ...log, mode: result.mode, written: resources.map((l) => `${l.resourceType}/${l.resourceId}/_history/${l.versionId}`) });
        // What of this client waited may go now (a dependency landed, the Patient was found, a replay went).
        await store.outbox.wakeClient(entry.target, entry.clientKey, true);
        return;
      }
      case 'failed': {
        // What reached the target before the failure is named with its id; the rest by type.
        const done = new Set(result.ledger.map((l) => `${l.resourceType}|${l.identifier}`));
        const attempted = [
          ...result.ledger.filter((l) => l.resourceType !== 'Provenance'),
          ...result.attempted
            .map((w) => ({ resourceType: w.resource.resourceType, resourceId: '', versionId: '', identifier: `${w.mapped.key.system}|${w.mapped.key.value}` }))
            .filter((w) => !done.has(`${w.resourceType}|${w.identifier}`)),
        ];
        const outcome = toOutcome(result.error);
        const failure = `${outcome.id ?? 'error'}: ${outcome.issue?.[0]?.details?.text ?? ''}`;
        await this.defer(entry, result.error, log, [this.audit(record, entry.recordVersion, attempted, decision, failure, result.mode)]);
        return;
      }
    }
  }

  /** The local AuditEvent of one write (a disclosure when it succeeded). */
  private audit(
    record: StoredRecord,
    recordVersion: number,
    written: Parameters<typeof buildWriteAudit>[0]['written'],
    decision: DisclosureDecision,
    failure?: string,
    interaction?: 'transaction' | 'batch' | 'sequential'
  ): ReturnType<typeof buildWriteAudit> {
    return buildWriteAudit({
      ns: this.o.mappingConfig.ns,
      mrnSystem: this.o.mappingConfig.mrnSystem,
      clientMrn: record.clientMrn,
      kind: record.kind,
      recordId: record.id,
      recordVersion,
      target: this.o.target.name,
      targetBaseUrl: this.o.target.baseUrl,
      written,
      success: failure === undefined,
      failure,
      consentIds: decision.consentIds,
      purposeOfUse: decision.purposeOfUse,
      exceptionReason: decision.exceptionReason,
      ...(interaction ? { interaction } : {}),
    });
  }

  /** Applies the retry policy to a failed attempt: hold, retry later, or park as a dead letter. */
  private async defer(entry: OutboxEntry, err: unknown, log: Record<string, unknown>, audit?: ReturnType<typeof buildWriteAudit>[]): Promise<void> {
    const d = dispose(err, entry, this.retry);
    if (d.action === 'hold') {
      await this.o.store.outbox.deferOutbox(entry, 'held', d.reason, new Date(Date.now() + d.delayMs), undefined, audit, { code: d.code });
      this.o.logger.info('record held', { ...log, reason: d.code });
      return;
    }
    if (d.outcome.id === 'internal-error') {
      this.o.logger.error('sync internal error', { ...log, error: errorName(err) });
    }
    const codes = (d.outcome.issue ?? []).map((i) => i.code);
    if (d.action === 'dead-letter') {
      await this.o.store.outbox.parkOutbox(entry, d.reason, d.code, d.outcome, audit);
      this.o.logger.warn('record parked as a dead letter', { ...log, reason: d.code, codes });
      return;
    }
    if (d.pauseTargetMs !== undefined) {
      // Retry-After paces the whole target, not only this record.
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + d.pauseTargetMs);
    }
    if (d.refreshCapabilities) {
      this.delivery.refreshCapabilities();
    }
    const next = new Date(Date.now() + d.delayMs);
    await this.o.store.outbox.deferOutbox(entry, 'failed', d.reason, next, d.outcome, audit, { code: d.code, countFailure: d.countFailure });
    this.o.logger.warn('record sync failed', { ...log, reason: d.code, codes, retryInMs: d.delayMs });
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
