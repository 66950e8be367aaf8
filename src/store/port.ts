/**
 * The durable store, split by aggregate: records (versioned, with a content hash), the outbox (the
 * delivery state machine), the ledger (what we wrote on each target, and write intents), the local
 * audit, and read-only status queries. Each consumer is given only the slices it needs
 * (`Pick<Store, 'records' | 'ledger'>`). The slices of one store share one database and one
 * transaction helper, so a record and its outbox entry, or a delivery's ledger, audit and outbox
 * change, commit together. Async on purpose: the embedded SQLite implementation and a PostgreSQL one
 * follow the same contract.
 *
 * Cost contract (issue #8): every method used per record or per request is served by indexes, so its
 * cost depends on what it returns or changes, never on how many records, entries, ledger or audit rows
 * the store holds. The exceptions are named on the methods (bulk listings for reconciliation, tests and
 * operator commands over everything). The SQLite implementation proves it with a query-plan test
 * (test/unit/store/query-plan.test.ts).
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { GroupPut, GroupPutOutcome, ImportJobProgress, ImportJobStore } from './import-jobs.js';
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
  SettleResult,
  Settlement,
  StoredRecord,
  SyncState,
  SyncStateName,
  TargetStatus,
  WakeEvent,
  WriteIntent,
} from './types.js';
import type { RecordQueries } from './record-queries.js';

export type * from './types.js';
export type * from './record-queries.js';
export type * from './import-jobs.js';

/** Source records, versioned. A put also enqueues the record for its targets, in the same transaction. */
export interface RecordStore {
  /** Upserts a record and, in the same transaction, its outbox entries and pending sync state. */
  putRecord(input: PutRecordInput): Promise<PutRecordResult>;
  /** Several puts in one transaction, all or nothing. */
  putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]>;
  /**
   * Group commit (src/intake/group-commit.ts): independent puts of several requests and import jobs in
   * ONE transaction (one durable commit), in the given order, each isolated from the others: a put that
   * fails is rolled back alone (a savepoint) and reported as `{ ok: false }`, the others commit. A later
   * put of the same record sees the earlier ones (versions follow the order). The import-job progress
   * (lines counted, results of the puts that name a job line, lines rejected before the store) is
   * written in the same transaction. Resolves once the transaction is durable; rejects, with nothing
   * written, only when the transaction itself cannot commit.
   * @param afterWrite - called synchronously as soon as the transaction has committed, before the
   *   promise resolves: the intake wakes the records waiting for these in the same turn of the event
   *   loop, so the sync never claims a newer record of a client before the older ones it released.
   */
  putRecordGroup(puts: GroupPut[], jobs?: ImportJobProgress[], afterWrite?: (outcomes: GroupPutOutcome[]) => void): Promise<GroupPutOutcome[]>;
  getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined>;
  getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]>;
  /**
   * Records by kind and client, ordered by kind and id. With a client MRN it costs what it returns (the
   * consent gate reads a client's consents and participants per record); without one it lists a whole
   * kind or everything (remap, exports): not for a per-record path.
   */
  listRecords(filter: RecordFilter): Promise<StoredRecord[]>;
}

/**
 * The delivery state machine: one entry per record and target. Entries of one client (its client key)
 * are delivered one at a time, in order; clients proceed concurrently.
 *
 * An entry is *due* at its next attempt time; a *held* entry waits for an event (what it waits for is
 * given as opaque wait keys) with a slow recheck time as its due time; a *parked* entry (dead letter)
 * is never due until replayed. A claim leases the client until the claimed entry is settled.
 */
export interface OutboxStore {
  /**
   * Claims due entries of a target: at most one per client, none of a client already leased (unless
   * its lease expired: a process that died). Clients are taken by the due time of their earliest due
   * entry, oldest first; within a client the entry due first (ties: the earliest enqueued). Each
   * claimed client is leased for `leaseMs`. Costs what it claims (`limit`), not the backlog.
   */
  claimOutbox(target: string, limit: number, leaseMs: number, now?: Date): Promise<OutboxEntry[]>;
  /**
   * Records the outcomes of claimed entries, all in one transaction: per entry its outbox change, the
   * record's sync state, its ledger and audit entries, the release of its client's lease, and the
   * wake-ups its outcome causes (`Settlement.wake`). See Settlement for each outcome.
   * @returns one result per settlement, in order.
   */
  settle(settlements: Settlement[], now?: Date): Promise<SettleResult[]>;
  /**
   * Queues stored records again for a target (remap after a mapping change, replay, not-writable after
   * the target changed): an existing entry becomes due now with its failures reset, a missing one is
   * created. Records kept local by policy are skipped. Returns how many were queued.
   */
  requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number>;
  /**
   * An operator's retry: makes the waiting (held or failed, never parked) entries matching the filter
   * due now. Costs what it matches. Returns how many.
   */
  wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number>;
  /**
   * An event: every held entry waiting on one of `event.keys` (on `event.target`, or any target)
   * becomes due now and forgets its waits; attempts of `event.clientKeys` in flight will re-evaluate a
   * hold at once. Costs what it wakes. Returns how many entries were woken.
   */
  wake(event: WakeEvent, now?: Date): Promise<number>;
  /** The earliest due time of an entry of the target whose client is not leased (the worker's sleep), or undefined. */
  nextDueAt(target: string): Promise<Date | undefined>;
  /**
   * Calls `listener` whenever a process sharing this store (another instance, or this one) commits a
   * change that may make work due on `target`: a put, a settlement releasing a client, a wake-up, a
   * requeue. Returns the unsubscribe. Absent where one process owns the store (SQLite): its own worker is
   * woken directly.
   */
  onWorkMaybeDue?(target: string, listener: () => void): () => void;
}

/** What this service wrote on each target (by business identifier), and write-ahead intents. */
export interface LedgerStore {
  getLedgerByIdentifier(target: string, resourceType: string, identifier: string): Promise<LedgerEntry | undefined>;
  /**
   * Several entries by business identifier in one read (the sync's load stage: every resource a
   * record's plan may ask about). Returns those found, in no particular order. Costs what it asks.
   */
  getLedgerByIdentifiers(target: string, keys: { resourceType: string; identifier: string }[]): Promise<LedgerEntry[]>;
  /** The resources a record became on a target (its Provenances are in listLedger). */
  getLedgerForRecord(target: string, kind: RecordKind, recordId: string): Promise<LedgerEntry[]>;
  /** Every ledger entry of a target (reconciliation, tests): grows with the ledger, not for a per-record path. */
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
  /**
   * Audit entries, oldest first. By client (with or without a category) or by record it costs what it
   * returns; by category alone or unfiltered it reads the whole trail (exports, tests).
   */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
}

/** One access-audit entry: who read or changed PHI through the API or /fhir (an IHE BALP-shaped AuditEvent). */
export interface AccessAuditEntry {
  /** The AuditEvent's id. */
  id: string;
  /** ISO instant. */
  recorded: string;
  /** The credential's name (never the token). */
  who: string;
  /** The interaction: read, search, create, update, delete, batch, operation, export... */
  action: string;
  /** The route table entry (`GET /api/v1/{collection}/{id}`). */
  route: string;
  /** The HTTP status answered. */
  status: number;
  /** Clients whose data the call touched, when known: kept in an indexed column for filtering, never logged. */
  clientMrns: string[];
  event: AuditEvent;
}

/** A page of the access audit, oldest first. Every filter is optional; `cursor` continues a page. */
export interface AccessAuditQuery {
  since?: Date;
  until?: Date;
  who?: string;
  clientMrn?: string;
  /** From the previous page's `nextCursor` (one that is not gives an empty page). */
  cursor?: string;
  limit: number;
}

export interface AccessAuditPage {
  entries: AccessAuditEntry[];
  /** Set when more entries follow. */
  nextCursor?: string;
}

/** The access audit (issue #10): appended in batches, read by the privacy officer, purged after retention. */
export interface AccessAuditStore {
  /** Appends entries in one transaction. */
  appendAccess(entries: AccessAuditEntry[]): Promise<void>;
  /** One page, by index (time, user or client): never a scan of the whole audit. */
  listAccess(query: AccessAuditQuery): Promise<AccessAuditPage>;
  /** Deletes at most `limit` of the oldest entries recorded before `before`. Returns how many. */
  purgeAccessBefore(before: Date, limit: number): Promise<number>;
}

/** Read-only views over the delivery state, for the API, the CLI and the planner. */
export interface StatusQueries {
  /** A record's state on each target. */
  getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]>;
  /** Records per target and state, from counters kept with the transitions (no scan). */
  countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]>;
  /** Delivery figures per target, from the same counters and one index lookup per target. */
  targetStatus(now?: Date): Promise<TargetStatus[]>;
  /** Dead letters, oldest first, at most `limit` (default 1000); costs what it returns. */
  listDeadLetters(filter: DeliveryFilter, limit?: number): Promise<DeadLetter[]>;
  /**
   * Sync states matching a filter (the review list: held with an identity reason; not-writable),
   * oldest change first, at most `limit` (default 1000). Give a state or reason: unfiltered it reads
   * every state.
   */
  listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit?: number): Promise<(SyncState & { clientMrn: string | null })[]>;
  /** Number of outbox entries (parked included) of a target or of all (counters, no scan). */
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
  readonly importJobs: ImportJobStore;
  readonly accessAudit: AccessAuditStore;
  close(): Promise<void>;
}
