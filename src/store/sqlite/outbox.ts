/**
 * The outbox slice on SQLite: the delivery state machine. One entry per record and target; a claim
 * leases the oldest due entry of each client not already in flight; each outcome (complete, defer,
 * park, not writable, block) commits the entry's change, the record's sync state, and the ledger and
 * audit entries of the attempt in one transaction.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordKind } from '../../domain/records.js';
import type { OutboxStore } from '../port.js';
import type { AuditEntry, DeliveryFilter, LedgerEntry, OutboxEntry } from '../types.js';
import { insertAuditRows } from './audit.js';
import type { SqliteDb } from './db.js';
import { deliveryFilterParams } from './filters.js';
import { upsertLedgerRows } from './ledger.js';
import { type OutboxRow, type RecordRow, toOutbox } from './rows.js';
import { setSyncState } from './sync-state-rows.js';

/**
 * Enqueues (or re-enqueues) a record version for a target and marks it pending; call inside a
 * transaction. A newer version replaces a pending one (coalescing) and starts afresh.
 */
export function enqueueRow(
  db: SqliteDb,
  e: { kind: RecordKind; recordId: string; target: string; version: number; clientKey: string; now: string }
): void {
  db.prepare(
    `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at)
     VALUES (?, ?, ?, ?, ?, 0, ?, ?)
     ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
       client_key = excluded.client_key, attempts = 0, next_attempt_at = excluded.next_attempt_at,
       dead_at = NULL, failures = 0, failing_since = NULL`
  ).run(e.kind, e.recordId, e.target, e.version, e.clientKey, Date.parse(e.now), e.now);
  setSyncState(db, { kind: e.kind, recordId: e.recordId, target: e.target, state: 'pending', attempts: 0, now: e.now });
}

export class SqliteOutbox implements OutboxStore {
  constructor(private readonly db: SqliteDb) {}

  /**
   * The embedded store serves one process at a time, so any lease found at open belongs to a process
   * that died (kill -9, power loss): release it now instead of stalling its client until it expires.
   */
  releaseAllLeases(): void {
    this.db.prepare('UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL').run();
  }

  async claimOutbox(target: string, limit: number, leaseMs: number, now = new Date()): Promise<OutboxEntry[]> {
    const t = now.getTime();
    return this.db.tx(() => {
      // The oldest due entry of each client whose other entries are not in flight: per-client order,
      // while a client that keeps failing only delays itself. One pass over the due entries (grouped by
      // client), then a look at the few leased ones: the claim runs after every record, so it must not
      // grow with the square of the backlog.
      const rows = this.db
        .prepare(
          `SELECT o.* FROM (
             SELECT client_key, MIN(seq) AS seq FROM outbox
             WHERE target = @target AND dead_at IS NULL AND next_attempt_at <= @t
             GROUP BY client_key
           ) d JOIN outbox o ON o.seq = d.seq
           WHERE (o.lease_until IS NULL OR o.lease_until < @t)
             AND d.client_key NOT IN (SELECT client_key FROM outbox WHERE target = @target AND lease_until >= @t)
           ORDER BY o.seq LIMIT @limit`
        )
        .all({ target, t, limit }) as OutboxRow[];
      const lease = this.db.prepare('UPDATE outbox SET lease_until = ? WHERE seq = ?');
      for (const r of rows) {
        lease.run(t + leaseMs, r.seq);
      }
      return rows.map(toOutbox);
    });
  }

  async completeOutbox(entry: OutboxEntry, ledger: LedgerEntry[], audit: AuditEntry[] = [], note?: string): Promise<void> {
    const now = new Date().toISOString();
    this.db.tx(() => {
      insertAuditRows(this.db, audit);
      upsertLedgerRows(this.db, ledger);
      this.finish(entry, now, { state: 'synced', ...(note ? { reason: note } : {}) });
    });
  }

  async markNotWritable(entry: OutboxEntry, reason: string, ledger: LedgerEntry[] = [], audit: AuditEntry[] = []): Promise<void> {
    const now = new Date().toISOString();
    this.db.tx(() => {
      insertAuditRows(this.db, audit);
      upsertLedgerRows(this.db, ledger);
      this.finish(entry, now, { state: 'not-writable', reason, code: 'not-writable' });
    });
  }

  /**
   * Removes a delivered entry and records its end state; when a newer version arrived while we worked,
   * the entry stays, due now, and the record is pending again.
   */
  private finish(entry: OutboxEntry, now: string, end: { state: 'synced' | 'not-writable'; reason?: string; code?: string }): void {
    const removed = this.db.prepare('DELETE FROM outbox WHERE seq = ? AND record_version <= ?').run(entry.seq, entry.recordVersion);
    const key = { kind: entry.kind, recordId: entry.recordId, target: entry.target, now };
    if (removed.changes === 0) {
      this.db.prepare('UPDATE outbox SET lease_until = NULL WHERE seq = ?').run(entry.seq);
      setSyncState(this.db, { ...key, state: 'pending', attempts: 0 });
    } else {
      setSyncState(this.db, { ...key, ...end, attempts: entry.attempts + 1 });
    }
  }

  async deferOutbox(
    entry: OutboxEntry,
    state: 'held' | 'failed',
    reason: string,
    nextAttemptAt: Date,
    outcome?: OperationOutcome,
    audit: AuditEntry[] = [],
    options: { code?: string; countFailure?: boolean } = {}
  ): Promise<void> {
    const now = new Date();
    const counts = options.countFailure ?? state === 'failed';
    this.db.tx(() => {
      insertAuditRows(this.db, audit);
      this.db
        .prepare(
          `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,
             failures = failures + ?, failing_since = CASE WHEN ? THEN COALESCE(failing_since, ?) ELSE failing_since END
           WHERE seq = ?`
        )
        .run(nextAttemptAt.getTime(), counts ? 1 : 0, counts ? 1 : 0, now.getTime(), entry.seq);
      setSyncState(this.db, {
        kind: entry.kind,
        recordId: entry.recordId,
        target: entry.target,
        state,
        reason,
        ...(options.code ? { code: options.code } : {}),
        ...(outcome ? { outcome } : {}),
        attempts: entry.attempts + 1,
        nextAttemptAt: nextAttemptAt.toISOString(),
        now: now.toISOString(),
      });
    });
  }

  async parkOutbox(entry: OutboxEntry, reason: string, code: string, outcome?: OperationOutcome, audit: AuditEntry[] = []): Promise<void> {
    const now = new Date();
    this.db.tx(() => {
      insertAuditRows(this.db, audit);
      // Parking always follows a failed attempt: it counts.
      this.db
        .prepare('UPDATE outbox SET attempts = attempts + 1, failures = failures + 1, dead_at = ?, lease_until = NULL WHERE seq = ?')
        .run(now.getTime(), entry.seq);
      setSyncState(this.db, {
        kind: entry.kind,
        recordId: entry.recordId,
        target: entry.target,
        state: 'dead-letter',
        reason,
        code,
        ...(outcome ? { outcome } : {}),
        attempts: entry.attempts + 1,
        now: now.toISOString(),
      });
    });
  }

  async blockOutbox(entry: OutboxEntry, reason: string, audit: AuditEntry[] = []): Promise<void> {
    const now = new Date().toISOString();
    this.db.tx(() => {
      insertAuditRows(this.db, audit);
      this.db.prepare('DELETE FROM outbox WHERE seq = ?').run(entry.seq);
      setSyncState(this.db, { kind: entry.kind, recordId: entry.recordId, target: entry.target, state: 'blocked', reason, attempts: entry.attempts + 1, now });
    });
  }

  async requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number> {
    const now = new Date().toISOString();
    const { db } = this;
    return db.tx(() => {
      let n = 0;
      for (const k of keys) {
        const row = db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(k.kind, k.id) as RecordRow | undefined;
        const blocked = db
          .prepare("SELECT 1 FROM sync_state WHERE kind = ? AND record_id = ? AND target = 'local' AND state = 'blocked'")
          .get(k.kind, k.id);
        if (!row || blocked) {
          continue; // records kept local by policy are never queued
        }
        const queued = db.prepare('SELECT client_key FROM outbox WHERE kind = ? AND record_id = ?').get(k.kind, k.id) as { client_key?: string } | undefined;
        const clientKey = row.client_mrn ?? queued?.client_key ?? `record:${k.kind}/${k.id}`;
        db.prepare(
          `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at)
           VALUES (?, ?, ?, ?, ?, 0, ?, ?)
           ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
             attempts = 0, next_attempt_at = excluded.next_attempt_at, lease_until = NULL,
             dead_at = NULL, failures = 0, failing_since = NULL`
        ).run(k.kind, k.id, target, row.version, clientKey, Date.parse(now), now);
        setSyncState(db, { kind: k.kind, recordId: k.id, target, state: 'pending', attempts: 0, now });
        n++;
      }
      return n;
    });
  }

  async wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number> {
    const now = Date.now();
    return this.db
      .prepare(
        `UPDATE outbox SET next_attempt_at = @now
         WHERE dead_at IS NULL AND next_attempt_at > @now AND (@target IS NULL OR target = @target)
           AND (@kind IS NULL OR kind = @kind) AND (@recordId IS NULL OR record_id = @recordId)
           AND EXISTS (SELECT 1 FROM sync_state s WHERE s.kind = outbox.kind AND s.record_id = outbox.record_id
                       AND s.target = outbox.target AND (@state IS NULL OR s.state = @state)
                       AND (@code IS NULL OR s.reason_code = @code))
           AND (@mrn IS NULL OR EXISTS (SELECT 1 FROM records r WHERE r.kind = outbox.kind AND r.id = outbox.record_id
                                        AND r.client_mrn = @mrn))`
      )
      .run({ ...deliveryFilterParams(filter), state: filter.state ?? null, now }).changes;
  }

  async wakeClient(target: string, clientKey: string, onlyHeld = false): Promise<number> {
    const now = Date.now();
    return this.db
      .prepare(
        `UPDATE outbox SET next_attempt_at = @now
         WHERE target = @target AND client_key = @clientKey AND next_attempt_at > @now AND dead_at IS NULL
           AND (@onlyHeld = 0 OR EXISTS (SELECT 1 FROM sync_state s WHERE s.kind = outbox.kind AND s.record_id = outbox.record_id
                                         AND s.target = outbox.target AND s.state = 'held'))`
      )
      .run({ now, target, clientKey, onlyHeld: onlyHeld ? 1 : 0 }).changes;
  }

  async nextDueAt(target: string): Promise<Date | undefined> {
    // Clients with an entry in flight are skipped: their next entry waits for that one (claimOutbox), and
    // the worker is woken when it is done. A lease left by a dead instance is covered by the poll interval.
    const row = this.db
      .prepare(
        `SELECT MIN(o.next_attempt_at) AS t FROM outbox o
         WHERE o.target = @target AND o.dead_at IS NULL AND (o.lease_until IS NULL OR o.lease_until < @now)
           AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.target = o.target AND b.client_key = o.client_key
                           AND b.lease_until IS NOT NULL AND b.lease_until >= @now)`
      )
      .get({ target, now: Date.now() }) as { t: number | null };
    return row.t === null ? undefined : new Date(row.t);
  }
}
