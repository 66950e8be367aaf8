/**
 * The store's data types, shared by its ports (port.ts) and their implementations.
 */
import type { AuditEvent, OperationOutcome } from '@medplum/fhirtypes';
import type { AnyRecord, RecordKind } from '../domain/records.js';

/**
 * pending: waiting its turn; synced: on the target; held: cannot go yet (a missing Patient, a
 * dependency, consent) and waits for what it needs (an event wakes it; a slow recheck); failed: the target refused or did not answer, retried with
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

/** One claimed outbox entry: a record version to deliver to a target. */
export interface OutboxEntry {
  /** The entry's identity in the store (unique, increasing with arrival). */
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
  /**
   * For a created record: the sync states written with it (pending on each target, or blocked), so
   * the answer to a create needs no read. Absent otherwise (an update's answer reads the states and
   * the resources of earlier versions).
   */
  createdStates?: SyncState[];
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

/** Fields every settlement may carry. */
interface SettlementBase {
  /** The entry as claimed (recordVersion: the version the attempt worked on). */
  entry: OutboxEntry;
  /** Local AuditEvents of the attempt, committed with its outcome. */
  audit?: AuditEntry[];
  /**
   * Wait keys this outcome fulfils on the entry's target (see OutboxStore.wake): the entries held on them
   * become due now, in the same transaction.
   */
  wake?: string[];
}

/**
 * What became of one claimed entry, recorded by OutboxStore.settle. Each ends the client's lease.
 * - synced: the ledger entries are written, the entry removed and the record is synced (a newer version
 *   that arrived meanwhile keeps the entry, due now, and the record pending);
 * - not-writable: as synced, but the record's state says the target cannot hold its type (kept local);
 * - held: kept, not due before `recheckAt` unless one of `waitFor` is woken first (or an operator retries);
 * - failed: kept, due at `nextAttemptAt`; `countFailure` (default true) adds to the version's failures;
 * - dead-letter: kept but parked (never claimed) until replayed or a new version arrives;
 * - blocked: policy forbids sending this record to this target: the entry is removed.
 * held, failed and dead-letter of a version older than the entry's current one change nothing but the
 * audit: the newer version is pending and gets its own attempt.
 */
export type Settlement = SettlementBase &
  (
    | { state: 'synced'; ledger: LedgerEntry[]; note?: string }
    | { state: 'not-writable'; reason: string; ledger?: LedgerEntry[] }
    | { state: 'held'; reason: string; code: string; recheckAt: Date; waitFor?: string[] }
    | { state: 'failed'; reason: string; code: string; nextAttemptAt: Date; outcome?: OperationOutcome; countFailure?: boolean }
    | { state: 'dead-letter'; reason: string; code: string; outcome?: OperationOutcome }
    | { state: 'blocked'; reason: string }
  );

/** What settling one entry did. */
export interface SettleResult {
  /** The record's state or reason code on the target differs from before (logged once per change). */
  changed: boolean;
  /** A newer version of the record arrived during the attempt: it stays pending for its own attempt. */
  superseded: boolean;
  /** Held, but due at once: something it may wait for happened while it was in flight. */
  rewoken: boolean;
}

/**
 * Something held entries may be waiting for has happened (a record stored, a dependency delivered...):
 * see OutboxStore.wake.
 */
export interface WakeEvent {
  /** Opaque wait keys (src/sync/wait-keys.ts builds them). */
  keys: string[];
  /** Only entries of this target (a delivery outcome); all targets when absent (an arrival at intake). */
  target?: string;
  /**
   * Clients the event concerns: an attempt of theirs in flight right now re-evaluates a hold it is
   * about to record (it may have checked before the event).
   */
  clientKeys?: string[];
}
