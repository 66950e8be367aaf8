/**
 * The outbox slice on SQLite: the delivery state machine. One entry per record and target. Each
 * client's queue on a target has a head row (outbox_head, kept current by triggers on every outbox
 * change: migrations.ts 0006) with the due time of its earliest unparked entry and the lease while one
 * of its entries is in flight; the claim reads due heads through a partial index. Each outcome commits
 * the entry's change, the record's sync state, the attempt's ledger and audit entries, the lease's
 * release and the wake-ups it causes in one transaction.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { RecordKind } from '../../domain/records.js';
import type { OutboxStore } from '../port.js';
import type { DeliveryFilter, OutboxEntry, SettleResult, Settlement, WakeEvent } from '../types.js';
import { insertAuditRows } from './audit.js';
import type { SqliteDb } from './db.js';
import { stateFilterSql, whereClause } from './filters.js';
import { upsertLedgerRows } from './ledger.js';
import { type OutboxRow, type RecordRow, toOutbox } from './rows.js';
import { getSyncStateCode, setSyncState } from './sync-state-rows.js';

/**
 * Enqueues (or re-enqueues) a record version for a target and marks it pending; call inside a
 * transaction. A newer version replaces a pending one (coalescing) and starts afresh.
 */
export function enqueueRow(
  db: SqliteDb,
  e: { kind: RecordKind; recordId: string; target: string; version: number; clientKey: string; now: string }
): void {
  // Due from its first arrival (see arrived_at in migrations.ts): a new version keeps its place in line.
  db.prepare(
    `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at, arrived_at)
     VALUES (@kind, @recordId, @target, @version, @clientKey, 0, @t, @now, @t)
     ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
       client_key = excluded.client_key, attempts = 0, next_attempt_at = ${dueNow('@t')},
       dead_at = NULL, failures = 0, failing_since = NULL`
  ).run({ kind: e.kind, recordId: e.recordId, target: e.target, version: e.version, clientKey: e.clientKey, t: Date.parse(e.now), now: e.now });
  setSyncState(db, { kind: e.kind, recordId: e.recordId, target: e.target, state: 'pending', attempts: 0, now: e.now });
}

/** Rows one wake-up or requeue changes per transaction: a few ms of work, so the event loop never waits long. */
const WAKE_CHUNK = 500;

/**
 * The due time of an entry made due now (`t`: now, as a SQL expression): its arrival time, so it keeps
 * its place in its client's line (arrival order) and among clients.
 */
function dueNow(t: string): string {
  return `MIN(${t}, COALESCE(outbox.arrived_at, ${t}))`;
}

interface EntryRow {
  record_version: number;
  arrived_at: number | null;
}

export class SqliteOutbox implements OutboxStore {
  constructor(private readonly db: SqliteDb) {}

  /**
   * The embedded store serves one process at a time, so any lease found at open belongs to a process
   * that died (kill -9, power loss): release it now instead of stalling its client until it expires.
   */
  releaseAllLeases(): void {
    this.db.prepare('UPDATE outbox_head SET lease_until = NULL, rewake = 0 WHERE lease_until IS NOT NULL').run();
    this.db.prepare('DELETE FROM outbox_head WHERE due_at IS NULL AND lease_until IS NULL').run();
  }

  async claimOutbox(target: string, limit: number, leaseMs: number, now = new Date()): Promise<OutboxEntry[]> {
    const t = now.getTime();
    return this.db.tx(() => {
      const heads = this.db
        .prepare(
          `SELECT client_key FROM outbox_head WHERE target = ? AND lease_until IS NULL AND due_at IS NOT NULL AND due_at <= ?
           ORDER BY due_at LIMIT ?`
        )
        .all(target, t, limit) as { client_key: string }[];
      if (heads.length < limit) {
        // Leases that expired: a process died mid-attempt (the SQLite store releases them at open).
        heads.push(
          ...(this.db
            .prepare('SELECT client_key FROM outbox_head WHERE target = ? AND lease_until IS NOT NULL AND lease_until < ? AND due_at <= ? LIMIT ?')
            .all(target, t, t, limit - heads.length) as { client_key: string }[])
        );
      }
      const first = this.db.prepare(
        `SELECT * FROM outbox WHERE client_key = ? AND target = ? AND dead_at IS NULL AND next_attempt_at <= ?
         ORDER BY next_attempt_at, seq LIMIT 1`
      );
      const lease = this.db.prepare('UPDATE outbox_head SET lease_until = ?, rewake = 0 WHERE client_key = ? AND target = ?');
      const out: OutboxEntry[] = [];
      for (const h of heads) {
        const row = first.get(h.client_key, target, t) as OutboxRow | undefined;
        if (row) {
          lease.run(t + leaseMs, h.client_key, target);
          out.push(toOutbox(row));
        }
      }
      return out;
    });
  }

  async settle(settlements: Settlement[], now = new Date()): Promise<SettleResult[]> {
    const overflow: { key: string; target: string }[] = [];
    const results = this.db.tx(() => settlements.map((s) => this.settleOne(s, now, overflow)));
    // Keys with more waiters than one chunk: the rest is woken chunk by chunk, the event loop running between.
    for (const { key, target } of overflow) {
      await this.wakeInChunks(key, target, now.getTime());
    }
    return results;
  }

  private settleOne(s: Settlement, now: Date, overflow: { key: string; target: string }[]): SettleResult {
    const { db } = this;
    const e = s.entry;
    const iso = now.toISOString();
    const t = now.getTime();
    insertAuditRows(db, s.audit ?? []);
    const head = db.prepare('SELECT rewake FROM outbox_head WHERE client_key = ? AND target = ?').get(e.clientKey, e.target) as { rewake: number } | undefined;
    const row = db.prepare('SELECT record_version, arrived_at FROM outbox WHERE seq = ?').get(e.seq) as EntryRow | undefined;
    const before = getSyncStateCode(db, e.kind, e.recordId, e.target);
    db.prepare('DELETE FROM outbox_wait WHERE seq = ?').run(e.seq);
    const key = { kind: e.kind, recordId: e.recordId, target: e.target, now: iso };
    let result: SettleResult = { changed: false, superseded: false, rewoken: false };
    let end: { state: string; code: string | null } | undefined;
    if (s.state === 'synced' || s.state === 'not-writable') {
      upsertLedgerRows(db, s.ledger ?? []);
    }
    if (!row) {
      // Removed meanwhile (the record became local-only at intake): nothing left to change.
    } else if (row.record_version > e.recordVersion) {
      // A newer version arrived during the attempt: it is pending and gets its own attempt.
      result = { ...result, superseded: true };
    } else {
      switch (s.state) {
        case 'synced':
        case 'not-writable': {
          db.prepare('DELETE FROM outbox WHERE seq = ?').run(e.seq);
          const reason = s.state === 'synced' ? s.note : s.reason;
          const code = s.state === 'not-writable' ? 'not-writable' : undefined;
          setSyncState(db, { ...key, state: s.state, ...(reason ? { reason } : {}), ...(code ? { code } : {}), attempts: e.attempts + 1 });
          end = { state: s.state, code: code ?? null };
          break;
        }
        case 'held': {
          const rewoken = (head?.rewake ?? 0) === 1;
          const next = rewoken ? Math.min(t, row.arrived_at ?? t) : s.recheckAt.getTime();
          db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE seq = ?').run(next, e.seq);
          const wait = db.prepare('INSERT OR IGNORE INTO outbox_wait (wait_key, target, seq) VALUES (?, ?, ?)');
          for (const k of new Set(s.waitFor ?? [])) {
            wait.run(k, e.target, e.seq);
          }
          setSyncState(db, { ...key, state: 'held', reason: s.reason, code: s.code, attempts: e.attempts + 1, nextAttemptAt: new Date(next).toISOString() });
          end = { state: 'held', code: s.code };
          result = { ...result, rewoken };
          break;
        }
        case 'failed': {
          const counts = s.countFailure ?? true;
          db.prepare(
            `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, failures = failures + ?,
               failing_since = CASE WHEN ? THEN COALESCE(failing_since, ?) ELSE failing_since END
             WHERE seq = ?`
          ).run(s.nextAttemptAt.getTime(), counts ? 1 : 0, counts ? 1 : 0, t, e.seq);
          setSyncState(db, {
            ...key,
            state: 'failed',
            reason: s.reason,
            code: s.code,
            ...(s.outcome ? { outcome: s.outcome } : {}),
            attempts: e.attempts + 1,
            nextAttemptAt: s.nextAttemptAt.toISOString(),
          });
          end = { state: 'failed', code: s.code };
          break;
        }
        case 'dead-letter':
          // Parking always follows a failed attempt: it counts.
          db.prepare('UPDATE outbox SET attempts = attempts + 1, failures = failures + 1, dead_at = ? WHERE seq = ?').run(t, e.seq);
          setSyncState(db, { ...key, state: 'dead-letter', reason: s.reason, code: s.code, ...(s.outcome ? { outcome: s.outcome } : {}), attempts: e.attempts + 1 });
          end = { state: 'dead-letter', code: s.code };
          break;
        case 'blocked':
          db.prepare('DELETE FROM outbox WHERE seq = ?').run(e.seq);
          setSyncState(db, { ...key, state: 'blocked', reason: s.reason, attempts: e.attempts + 1 });
          end = { state: 'blocked', code: null };
          break;
      }
    }
    this.releaseLease(e.clientKey, e.target);
    for (const key of new Set(s.wake ?? [])) {
      if (this.wakeChunk(key, e.target, t).taken === WAKE_CHUNK) {
        overflow.push({ key, target: e.target });
      }
    }
    const changed = end !== undefined && (before?.state !== end.state || (before?.reason_code ?? null) !== end.code);
    return { ...result, changed };
  }

  /** Ends the client's lease; an empty queue's head goes. */
  private releaseLease(clientKey: string, target: string): void {
    this.db.prepare('UPDATE outbox_head SET lease_until = NULL, rewake = 0 WHERE client_key = ? AND target = ?').run(clientKey, target);
    this.db
      .prepare(
        `DELETE FROM outbox_head WHERE client_key = ? AND target = ? AND due_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM outbox WHERE client_key = ? AND target = ?)`
      )
      .run(clientKey, target, clientKey, target);
  }

  async requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number> {
    let n = 0;
    // In chunks of one transaction each, the event loop running between (a replay of everything).
    for (let i = 0; i < keys.length; i += WAKE_CHUNK) {
      if (i > 0) {
        await yieldToLoop();
      }
      n += this.db.tx(() => keys.slice(i, i + WAKE_CHUNK).reduce((sum, k) => sum + this.requeueOne(k, target, new Date().toISOString()), 0));
    }
    return n;
  }

  private requeueOne(k: { kind: RecordKind; id: string }, target: string, now: string): number {
    const { db } = this;
    const row = db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(k.kind, k.id) as RecordRow | undefined;
    const blocked = db.prepare("SELECT 1 FROM sync_state WHERE kind = ? AND record_id = ? AND target = 'local' AND state = 'blocked'").get(k.kind, k.id);
    if (!row || blocked) {
      return 0; // records kept local by policy are never queued
    }
    const queued = db.prepare('SELECT client_key FROM outbox WHERE kind = ? AND record_id = ?').get(k.kind, k.id) as { client_key?: string } | undefined;
    const clientKey = row.client_mrn ?? queued?.client_key ?? `record:${k.kind}/${k.id}`;
    db.prepare(
      `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at, arrived_at)
       VALUES (@kind, @id, @target, @version, @clientKey, 0, @t, @now, @t)
       ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
         attempts = 0, next_attempt_at = ${dueNow('@t')}, dead_at = NULL, failures = 0, failing_since = NULL`
    ).run({ kind: k.kind, id: k.id, target, version: row.version, clientKey, t: Date.parse(now), now });
    setSyncState(db, { kind: k.kind, recordId: k.id, target, state: 'pending', attempts: 0, now });
    return 1;
  }

  async wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number> {
    const f = stateFilterSql(filter, filter.state ? [filter.state] : ['held', 'failed']);
    const join = filter.clientMrn !== undefined ? 'JOIN records r ON r.kind = s.kind AND r.id = s.record_id' : '';
    const stmt = this.db.prepare(
      `UPDATE outbox SET next_attempt_at = ${dueNow('@now')}
       WHERE seq IN (SELECT o.seq FROM sync_state s ${join}
                     JOIN outbox o ON o.kind = s.kind AND o.record_id = s.record_id AND o.target = s.target
                     ${whereClause([...f.where, 'o.dead_at IS NULL', 'o.next_attempt_at > @now'])} LIMIT ${WAKE_CHUNK})`
    );
    // Chunk by chunk, the event loop running between: a retry of everything held must not stall the service.
    let n = 0;
    for (;;) {
      const changed = stmt.run({ ...f.params, now: Date.now() }).changes;
      n += changed;
      if (changed < WAKE_CHUNK) {
        return n;
      }
      await yieldToLoop();
    }
  }

  async wake(event: WakeEvent, now = new Date()): Promise<number> {
    const t = now.getTime();
    const rewake = this.db.prepare('UPDATE outbox_head SET rewake = 1 WHERE client_key = ? AND lease_until IS NOT NULL');
    for (const c of new Set(event.clientKeys ?? [])) {
      rewake.run(c);
    }
    // The first chunk of every key in this turn of the event loop (one transaction): the intake calls
    // this as its commit lands, and a record released here must be due before the worker's next claim.
    const keys = [...new Set(event.keys)];
    const first = this.db.tx(() => keys.map((key) => this.wakeChunk(key, event.target, t)));
    let n = first.reduce((sum, c) => sum + c.woken, 0);
    for (const [i, key] of keys.entries()) {
      if (first[i].taken >= WAKE_CHUNK) {
        n += await this.wakeInChunks(key, event.target, t);
      }
    }
    return n;
  }

  /** Wakes every entry waiting on `key`, a chunk per transaction, yielding between chunks. */
  private async wakeInChunks(key: string, target: string | undefined, t: number): Promise<number> {
    let n = 0;
    for (;;) {
      const { taken, woken } = this.db.tx(() => this.wakeChunk(key, target, t));
      n += woken;
      if (taken < WAKE_CHUNK) {
        return n;
      }
      await yieldToLoop();
    }
  }

  /**
   * Makes up to WAKE_CHUNK entries waiting on `key` due (from their arrival) and drops those waits; call
   * inside a transaction. Returns how many waits it took (WAKE_CHUNK: there may be more) and how many
   * entries became due (the others were due already, or parked).
   */
  private wakeChunk(key: string, target: string | undefined, t: number): { taken: number; woken: number } {
    const byTarget = target !== undefined ? ' AND target = @target' : '';
    const params = target !== undefined ? { key, target, t } : { key, t };
    const taken = this.db.prepare(`SELECT seq FROM outbox_wait WHERE wait_key = @key${byTarget} LIMIT ${WAKE_CHUNK}`).all(params) as { seq: number }[];
    const due = this.db.prepare(`UPDATE outbox SET next_attempt_at = ${dueNow('@t')} WHERE seq = @seq AND dead_at IS NULL AND next_attempt_at > @t`);
    const forget = this.db.prepare(`DELETE FROM outbox_wait WHERE wait_key = @key${byTarget} AND seq = @seq`);
    let woken = 0;
    for (const { seq } of taken) {
      woken += due.run({ seq, t }).changes;
      forget.run({ ...params, seq });
    }
    return { taken: taken.length, woken };
  }

  async nextDueAt(target: string): Promise<Date | undefined> {
    // Leased clients are left out: their next entry waits for the one in flight, and the worker is woken
    // when that is settled. A lease left by a dead instance is covered by the poll interval.
    const row = this.db
      .prepare('SELECT MIN(due_at) AS t FROM outbox_head WHERE target = ? AND lease_until IS NULL AND due_at IS NOT NULL')
      .get(target) as { t: number | null };
    return row.t === null ? undefined : new Date(row.t);
  }
}
