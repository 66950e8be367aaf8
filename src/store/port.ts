/**
 * The durable store: records (versioned, with a content hash), the outbox, per-target sync state and
 * the sync ledger. Async on purpose so a PostgreSQL implementation can follow the same contract.
 */
import type { AuditEvent, OperationOutcome } from '@medplum/fhirtypes';
import type { AnyRecord, RecordKind } from '../domain/records.js';

/**
 * pending: waiting its turn; synced: on the target; held: cannot go yet (a missing Patient, a
 * dependency, consent) and retried; failed: the target refused or did not answer, retried with
 * backoff; blocked: policy keeps it local; dead-letter: parked after a permanent refusal or too many
 * failures, until replayed; not-writable: the target cannot write its resource type (kept in our store).
 */
export type SyncStateName = 'pending' | 'synced' | 'held' | 'failed' | 'blocked' | 'dead-letter' | 'not-writable';

export interface StoredRecord {
  kind: RecordKind;
  id: string;
  /** The client's MRN (for a note: its session's, when known). */
  clientMrn: string | null;
  version: number;
  /** SHA-256 of the canonical JSON body: an identical resend is recognised and changes nothing. */
  hash: string;
  body: AnyRecord;
  receivedAt: string;
  updatedAt: string;
}

/** One FHIR resource this service wrote on a target, keyed by its business identifier. */
export interface LedgerEntry {
  target: string;
  kind: RecordKind;
  recordId: string;
  resourceType: string;
  /** `system|value` of the identifier the resource was upserted by. */
  identifier: string;
  resourceId: string;
  versionId: string;
  recordVersion: number;
  /** `mappingId@version` that produced the resource. */
  mapping: string;
  /** Hash of the mapped resource (before reference resolution): unchanged content is not resent. */
  contentHash: string;
  syncedAt: string;
}

export interface SyncState {
  kind: RecordKind;
  recordId: string;
  target: string;
  state: SyncStateName;
  /** Plain-words reason for held, failed and blocked (no PHI). */
  reason?: string;
  /** The reason's code (patient-not-found, upstream-422 ...), for filters and the review list. */
  reasonCode?: string;
  /** The target's OperationOutcome (failed) or our own (validation). */
  outcome?: OperationOutcome;
  attempts: number;
  nextAttemptAt?: string;
  updatedAt: string;
}

export interface OutboxEntry {
  seq: number;
  kind: RecordKind;
  recordId: string;
  target: string;
  recordVersion: number;
  /** Entries of one client are processed in order, one at a time. */
  clientKey: string;
  attempts: number;
  /** Transient failures of this version (a new version or a replay resets them). */
  failures?: number;
  /** When this version first failed (epoch ms), for the maximum retry age. */
  failingSince?: number;
}

/** Selects records in the delivery lists (dead letters, review list, retry). */
export interface DeliveryFilter {
  target?: string;
  kind?: RecordKind;
  recordId?: string;
  clientMrn?: string;
  reasonCode?: string;
}

/** A parked outbox entry and why it was parked. */
export interface DeadLetter {
  kind: RecordKind;
  recordId: string;
  target: string;
  clientMrn: string | null;
  recordVersion: number;
  attempts: number;
  failures: number;
  deadAt: string;
  reason?: string;
  reasonCode?: string;
  /** The target's OperationOutcome (or ours). */
  outcome?: OperationOutcome;
}

/** One target's delivery figures for the status endpoint. */
export interface TargetStatus {
  target: string;
  states: Partial<Record<SyncStateName, number>>;
  /** Outbox entries not parked. */
  queued: number;
  deadLetters: number;
  /** Enqueue time of the oldest entry still waiting (not parked), when any. */
  oldestPendingAt?: string;
  /** Held records by reason code (the review list's size by cause). */
  heldBy: Record<string, number>;
}

/** A create whose outcome we must learn before creating again (see write_intent in schema.ts). */
export interface WriteIntent {
  target: string;
  resourceType: string;
  identifier: string;
  kind: RecordKind;
  recordId: string;
  createdAt: string;
}

export interface PutRecordInput {
  kind: RecordKind;
  record: AnyRecord;
  clientMrn: string | null;
  clientKey: string;
  /** Targets to enqueue for; ignored when `blocked` is set. */
  targets: string[];
  /** When set the record is kept locally only, never enqueued, and its state says why. */
  blocked?: string;
}

export interface PutRecordResult {
  record: StoredRecord;
  /** false when the body was identical to the stored one (nothing was written or enqueued). */
  changed: boolean;
  created: boolean;
}

/** One local audit entry: a FHIR AuditEvent plus the columns it is found by. */
export interface AuditEntry {
  /** The AuditEvent's id. */
  id: string;
  recorded: string;
  clientMrn: string | null;
  kind?: RecordKind;
  recordId?: string;
  target?: string;
  /** What happened: `disclosure` (a record's data reached a target), `write-attempt`, ... */
  category: string;
  outcome: 'success' | 'failure';
  event: AuditEvent;
}

export interface AuditFilter {
  clientMrn?: string;
  kind?: RecordKind;
  recordId?: string;
  category?: string;
}

export interface RecordFilter {
  kind?: RecordKind;
  clientMrn?: string;
}

export interface Store {
  /** Upserts a record and, in the same transaction, its outbox entries and pending sync state. */
  putRecord(input: PutRecordInput): Promise<PutRecordResult>;
  /** Several puts in one transaction (bulk import). */
  putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]>;
  getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined>;
  getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]>;
  listRecords(filter: RecordFilter): Promise<StoredRecord[]>;
  getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]>;
  countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]>;

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
  /** Dead letters, oldest first. */
  listDeadLetters(filter: DeliveryFilter, limit?: number): Promise<DeadLetter[]>;
  /** Sync states matching a filter (the review list: held with an identity reason). */
  listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit?: number): Promise<(SyncState & { clientMrn: string | null })[]>;
  /** Makes waiting (held or failed, not parked) entries due now. Returns how many. */
  wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number>;
  /** Delivery figures per target. */
  targetStatus(now?: Date): Promise<TargetStatus[]>;
  /** Policy forbids sending this record to this target: the entry is removed and the state says why. */
  blockOutbox(entry: OutboxEntry, reason: string, audit?: AuditEntry[]): Promise<void>;
  /**
   * Queues stored records again for a target (remap after a mapping change, replay): an existing entry
   * becomes due now, a missing one is created. Returns how many were queued.
   */
  requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number>;
  /**
   * Makes held and failed entries of a client due now (a dependency may have arrived); with onlyHeld
   * only the held ones (a record of the client just reached the target: what waited may go, while
   * failing records keep their backoff).
   */
  wakeClient(target: string, clientKey: string, onlyHeld?: boolean): Promise<number>;
  /** The next time any entry of the target becomes due (for the worker's sleep), or undefined. */
  nextDueAt(target: string): Promise<Date | undefined>;
  /** Number of outbox entries of a target (tests, status). */
  outboxSize(target?: string): Promise<number>;

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

  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** Audit entries, oldest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;

  close(): Promise<void>;
}
