/**
 * The sync worker: claims due outbox entries (one per client at a time, so each client's records go in
 * order while clients proceed concurrently), sends each, and records the outcome. A failure keeps the
 * record and retries with backoff; its state says why it waits.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { buildWriteAudit } from '../audit/events.js';
import type { FhirTarget } from '../fhir/port.js';
import type { Logger } from '../logger.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import { toOutcome } from '../outcomes.js';
import type { OutboxEntry, Store, StoredRecord } from '../store/port.js';
import { backoffDelay } from './backoff.js';
import { clientMrnOf, gatherRecords, withDisclosure } from './context.js';
import { type DisclosureDecision, type DisclosureGate, permitAll } from './gate.js';
import { HoldError } from './hold.js';
import { IdentityResolver } from './identity.js';
import { planWrites } from './plan.js';
import { sendTransaction } from './send.js';

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
}

/** Outcomes that a plain retry will not fix (bad mapping output, target refusing the content). */
const NOT_TRANSIENT = new Set(['transform-failed', 'output-invalid', 'input-invalid']);

export class SyncWorker {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private readonly identity: IdentityResolver;

  constructor(private readonly o: SyncWorkerOptions) {
    this.identity = new IdentityResolver(o.target);
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

  /** Looks for work now (called after a write). */
  wake(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    // A lease outlives one attempt comfortably; an instance that dies mid-send frees its entries when it expires.
    const leaseMs = this.o.requestTimeoutMs * 4 + 5_000;
    while (this.running) {
      let claimed: OutboxEntry[] = [];
      try {
        claimed = await this.o.store.claimOutbox(this.o.target.name, this.o.concurrency, leaseMs);
        await Promise.all(claimed.map((e) => this.process(e)));
      } catch (err) {
        this.o.logger.error('sync loop error', { error: errorName(err) });
      }
      if (claimed.length === 0 && this.running) {
        await this.sleep();
      }
    }
  }

  private async sleep(): Promise<void> {
    const due = await this.o.store.nextDueAt(this.o.target.name).catch(() => undefined);
    const untilDue = due ? Math.max(0, due.getTime() - Date.now()) : this.o.pollIntervalMs;
    const ms = Math.min(this.o.pollIntervalMs, untilDue);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  /** Processes one outbox entry to its next state. Never throws. */
  async process(entry: OutboxEntry): Promise<void> {
    const { store, logger } = this.o;
    const log = { kind: entry.kind, recordId: entry.recordId, target: entry.target, attempt: entry.attempts + 1 };
    const record = await store.getRecord(entry.kind, entry.recordId);
    if (!record) {
      await store.completeOutbox(entry, []);
      return;
    }
    const current = { ...entry, recordVersion: record.version };
    try {
      const records = await gatherRecords(store, record, this.o.mappingConfig);
      const decision = await (this.o.gate ?? permitAll).decide({ main: record, records, target: entry.target, now: new Date() });
      if (decision.effect === 'deny') {
        await store.blockOutbox(current, decision.reasons.join('; '));
        logger.info('record blocked by policy', log);
        return;
      }
      if (decision.effect === 'hold') {
        throw new HoldError('no-consent', decision.reasons.join('; '));
      }
      // The mappings label and link what they produce with the consents (or exception) the gate relied on.
      const plan = await planWrites(withDisclosure(records, decision), this.o.mappings, store, this.o.target.name, this.identity);
      if (plan.writes.length === 0) {
        await store.completeOutbox(current, []);
        return;
      }
      // A note stored before its session has no client of its own: the accounting files it under the session's.
      const audited = { ...record, clientMrn: clientMrnOf(records) };
      let ledger;
      try {
        ledger = await sendTransaction(this.o.target, plan.writes);
      } catch (err) {
        const failed = plan.writes.map((w) => ({ resourceType: w.resource.resourceType, resourceId: '', versionId: '', identifier: `${w.mapped.key.system}|${w.mapped.key.value}` }));
        const outcome = toOutcome(err);
        await this.defer(current, err, log, [this.audit(audited, current.recordVersion, failed, decision, `${outcome.id ?? 'error'}: ${outcome.issue?.[0]?.details?.text ?? ''}`)]);
        return;
      }
      await store.completeOutbox(current, ledger, [this.audit(audited, current.recordVersion, ledger, decision)]);
      logger.info('record synced', { ...log, written: ledger.map((l) => `${l.resourceType}/${l.resourceId}/_history/${l.versionId}`) });
    } catch (err) {
      await this.defer(current, err, log);
    }
  }

  /** The local AuditEvent of one write (a disclosure when it succeeded). */
  private audit(
    record: StoredRecord,
    recordVersion: number,
    written: Parameters<typeof buildWriteAudit>[0]['written'],
    decision: DisclosureDecision,
    failure?: string
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
    });
  }

  private async defer(entry: OutboxEntry, err: unknown, log: Record<string, unknown>, audit?: ReturnType<typeof buildWriteAudit>[]): Promise<void> {
    const attempt = entry.attempts + 1;
    if (err instanceof HoldError) {
      const next = new Date(Date.now() + backoffDelay(attempt, this.o.minBackoffMs, this.o.maxBackoffMs));
      await this.o.store.deferOutbox(entry, 'held', err.message, next);
      this.o.logger.info('record held', { ...log, reason: err.code });
      return;
    }
    const outcome: OperationOutcome = toOutcome(err);
    if (outcome.id === 'internal-error') {
      this.o.logger.error('sync internal error', { ...log, error: errorName(err) });
    }
    const permanent = NOT_TRANSIENT.has(outcome.id ?? '');
    const delay = permanent ? this.o.maxBackoffMs : backoffDelay(attempt, this.o.minBackoffMs, this.o.maxBackoffMs);
    const next = new Date(Date.now() + delay);
    const reason = `${outcome.id ?? 'error'}: ${outcome.issue?.[0]?.details?.text ?? 'unexpected error'}`;
    await this.o.store.deferOutbox(entry, 'failed', reason, next, outcome, audit);
    this.o.logger.warn('record sync failed', {
      ...log,
      outcome: outcome.id,
      codes: (outcome.issue ?? []).map((i) => i.code),
      retryInMs: delay,
    });
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
