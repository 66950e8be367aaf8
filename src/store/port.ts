/**
 * The durable store, split by aggregate: records (versioned, with a content hash), the outbox (the
 * delivery state machine), the ledger (what we wrote on each target, and write intents), the local
 * audit, and read-only status queries. Each consumer is given only the slices it needs
 * (`Pick<Store, 'records' | 'ledger'>`). The slices of one store share one database and one
 * transaction helper, so a record and its outbox entry, or a delivery's ledger, audit and outbox
 * change, commit together. Async on purpose: the embedded SQLite implementation and a PostgreSQL one
 * follow the same contract.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type {
  AuditEntry,
  AuditFilter,
  DeadLetter,
  DeliveryFilter,
  LedgerEntry,
  OutboxEntry,
  PutRecordInput,
  PutRecordResult,
  RecordFilter,
  StoredRecord,
  SyncState,
  SyncStateName,
  TargetStatus,
  WriteIntent,
} from './types.js';
import type { RecordQueries } from './record-queries.js';

export type * from './types.js';
export type * from './record-queries.js';

/** Source records, versioned. A put also enqueues the record for its targets, in the same transaction. */
export interface RecordStore {
  /** Upserts a record and, in the same transaction, its outbox entries and pending sync state. */
  putRecord(input: PutRecordInput): Promise<PutRecordResult>;
  /** Several puts in one transaction (bulk import, group commit). */
  putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]>;
  getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined>;
  getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]>;
  listRecords(filter: RecordFilter): Promise<StoredRecord[]>;
}

/** The delivery state machine: one outbox entry per record and target, leased while in flight. */
export interface OutboxStore {
  /** Claims due outbox entries of a target: at most one per client key, oldest first, leased for leaseMs. */
  claimOutbox(target: string, limit: number, leaseMs: number, now?: Date): Promise<OutboxEntry[]>;
  /**
   * Success: writes the ledger entries, marks the record synced and removes the entry (unless a newer
   * version arrived). `note` explains a partial delivery (a resource type the target cannot write).
   */
  completeOutbox(entry: OutboxEntry, ledger: LedgerEntry[], audit?: AuditEntry[], note?: string): Promise<void>;
  /**
   * Keeps the entry for later, with its state (held or failed), reason and next attempt time. A failure
   * that counts (options.countFailure, default true for failed) adds to the entry's failures.
   */
  deferOutbox(
    entry: OutboxEntry,
    state: 'held' | 'failed',
    reason: string,
    nextAttemptAt: Date,
    outcome?: OperationOutcome,
    audit?: AuditEntry[],
    options?: { code?: string; countFailure?: boolean }
  ): Promise<void>;
  /** Parks the entry as a dead letter (kept, never claimed) until replayed. */
  parkOutbox(entry: OutboxEntry, reason: string, code: string, outcome?: OperationOutcome, audit?: AuditEntry[]): Promise<void>;
  /**
   * The target cannot write the record's resource type: the entry is removed and the state says so;
   * the ledger entries are whatever of the record did go (a requeue brings it back).
   */
  markNotWritable(entry: OutboxEntry, reason: string, ledger?: LedgerEntry[], audit?: AuditEntry[]): Promise<void>;
  /** Policy forbids sending this record to this target: the entry is removed and the state says why. */
  blockOutbox(entry: OutboxEntry, reason: string, audit?: AuditEntry[]): Promise<void>;
  /**
   * Queues stored records again for a target (remap after a mapping change, replay): an existing entry
   * becomes due now, a missing one is created. Returns how many were queued.
   */
  requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number>;
  /** Makes waiting (held or failed, not parked) entries due now. Returns how many. */
  wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number>;
  /**
   * Makes held and failed entries of a client due now (a dependency may have arrived); with onlyHeld
   * only the held ones (a record of the client just reached the target: what waited may go, while
   * failing records keep their backoff).
   */
  wakeClient(target: string, clientKey: string, onlyHeld?: boolean): Promise<number>;
  /** The next time any entry of the target becomes due (for the worker's sleep), or undefined. */
  nextDueAt(target: string): Promise<Date | undefined>;
}

/** What this service wrote on each target (by business identifier), and write-ahead intents. */
export interface LedgerStore {
  getLedgerByIdentifier(target: string, resourceType: string, identifier: string): Promise<LedgerEntry | undefined>;
  /** The resources a record became on a target (its Provenances are in listLedger). */
  getLedgerForRecord(target: string, kind: RecordKind, recordId: string): Promise<LedgerEntry[]>;
  /** Every ledger entry of a target (reconciliation, tests). */
  listLedger(target: string): Promise<LedgerEntry[]>;
  /**
   * Remembers resources written before the record is complete (sequential writes: a later step may
   * fail, and the next attempt must not write these again). Clears their write intents.
   */
  recordLedger(entries: LedgerEntry[]): Promise<void>;
  /** Forgets a resource the target no longer has (404/410 on update): the next attempt looks again. */
  deleteLedger(target: string, resourceType: string, identifier: string): Promise<void>;
  putWriteIntent(intent: WriteIntent): Promise<void>;
  getWriteIntent(target: string, resourceType: string, identifier: string): Promise<WriteIntent | undefined>;
  clearWriteIntent(target: string, resourceType: string, identifier: string): Promise<void>;
}

/** The local audit trail: one AuditEvent per disclosure or write attempt (the accounting of disclosures). */
export interface AuditStore {
  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** Audit entries, oldest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
}

/** Read-only views over the delivery state, for the API, the CLI and the planner. */
export interface StatusQueries {
  getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]>;
  countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]>;
  /** Delivery figures per target. */
  targetStatus(now?: Date): Promise<TargetStatus[]>;
  /** Dead letters, oldest first. */
  listDeadLetters(filter: DeliveryFilter, limit?: number): Promise<DeadLetter[]>;
  /** Sync states matching a filter (the review list: held with an identity reason). */
  listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit?: number): Promise<(SyncState & { clientMrn: string | null })[]>;
  /** Number of outbox entries of a target (tests, status). */
  outboxSize(target?: string): Promise<number>;
}

/** One store: its slices over one database. */
export interface Store {
  readonly records: RecordStore;
  readonly outbox: OutboxStore;
  readonly ledger: LedgerStore;
  readonly audit: AuditStore;
  /** With the console's listing and readiness queries (record-queries.ts), kept in a file of their own. */
  readonly status: StatusQueries & RecordQueries;
  close(): Promise<void>;
}
