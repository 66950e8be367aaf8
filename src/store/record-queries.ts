/**
 * Read queries over the delivery state for the console and readiness, part of the store's `status`
 * slice (port.ts: StatusQueries extends RecordQueries). Every query is served by an index: a listing
 * page costs the same with a thousand records as with a million (bench/console-queries.ts).
 */
import type { RecordKind } from '../domain/records.js';
import type { SyncStateName } from './types.js';

/** Selects records by their sync state on a target. Every field narrows; none = every record. */
export interface RecordStateFilter {
  kind?: RecordKind;
  /** One record (with kind): its rows on every target, by primary key. */
  recordId?: string;
  state?: SyncStateName;
  /** The state's reason code (patient-not-found, no-consent, upstream-422...). */
  reasonCode?: string;
  target?: string;
  /** The client's MRN: PHI, so callers take it from a header or a body, never from a URL. */
  clientMrn?: string;
  /** ISO instants bounding when the state last changed: since inclusive, until exclusive. */
  since?: string;
  until?: string;
}

/** One record on one target, as the records listing shows it (no record content). */
export interface RecordStateRow {
  kind: RecordKind;
  recordId: string;
  target: string;
  state: SyncStateName;
  reason?: string;
  reasonCode?: string;
  attempts: number;
  nextAttemptAt?: string;
  /** When the state last changed (the listing's order, newest first). */
  updatedAt: string;
  clientMrn: string | null;
  /** The stored record's version, and when that version was received. */
  recordVersion: number;
  recordUpdatedAt: string;
}

export interface RecordStatePage {
  rows: RecordStateRow[];
  /** Opaque: pass back as `cursor` for the next page; absent on the last page. */
  next?: string;
}

/** Writes per time bucket, from the local audit (a disclosure is a write the target confirmed). */
export interface ThroughputBucket {
  /** ISO start of the bucket. */
  start: string;
  /** Records written to a target (the accounting's disclosures). */
  synced: number;
  /** Write attempts the target refused or did not answer. */
  failed: number;
}

/** What readiness needs to know of the store. */
export interface StoreProbe {
  /** The store answered a query. */
  reachable: boolean;
  /** Named migrations this code expects and the database has not applied. */
  migrationsPending: string[];
}

export interface RecordQueries {
  /**
   * One page of records by sync state, newest change first.
   * @param limit - rows per page (1..500).
   * @param cursor - the `next` of the previous page.
   * @throws OperationOutcomeError (400) for a cursor this store did not make.
   */
  listRecordStates(filter: RecordStateFilter, limit: number, cursor?: string): Promise<RecordStatePage>;
  /** Writes per bucket from `since` to `now`, oldest first; every bucket present (zeros included). */
  syncThroughput(since: Date, bucketMs: number, now?: Date): Promise<ThroughputBucket[]>;
  probe(): Promise<StoreProbe>;
}
