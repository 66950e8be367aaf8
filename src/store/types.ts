/**
 * The store's data types, shared by its ports (port.ts) and their implementations.
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
