/**
 * Read-only status queries on PostgreSQL. Figures come from the counter deltas the triggers append
 * (sync_count, outbox_count): each read first folds the deltas appended since the last fold into one
 * row per key (fold), so a read costs the transitions since the last read, never the size of the store.
 */
import type { RecordKind } from '../../domain/records.js';
import type { StatusQueries } from '../port.js';
import { type DeadLetterRow, type SyncStateRow, toDeadLetter, toSyncState } from '../sqlite/rows.js';
import type { DeadLetter, DeliveryFilter, SyncState, SyncStateName, TargetStatus } from '../types.js';
import type { PgDb } from './db.js';
import { outboxFilter, stateFilter, whereClause } from './filters.js';

/**
 * Folds the counter deltas into one row per key. Concurrent folds are safe (a row deleted by one is
 * skipped by the other) but pointless: the advisory lock lets one run and the others skip.
 */
export async function foldCounters(db: PgDb): Promise<void> {
  await db.tx(async (c) => {
    const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [`collateral-fold:${db.schema}`]);
    if (!got.rows[0].ok) {
      return;
    }
    await c.query(`WITH d AS (DELETE FROM sync_count RETURNING *)
      INSERT INTO sync_count SELECT target, state, reason_code, SUM(n) FROM d GROUP BY target, state, reason_code HAVING SUM(n) <> 0`);
    await c.query(`WITH d AS (DELETE FROM outbox_count RETURNING *)
      INSERT INTO outbox_count SELECT target, parked, SUM(n) FROM d GROUP BY target, parked HAVING SUM(n) <> 0`);
  });
}

export class PgStatus implements StatusQueries {
  constructor(private readonly db: PgDb) {}

  async getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]> {
    const r = await this.db.query<SyncStateRow>('SELECT * FROM sync_state WHERE kind = $1 AND record_id = $2 ORDER BY target', [kind, id]);
    return r.rows.map(toSyncState);
  }

  async countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]> {
    await foldCounters(this.db);
    const r = await this.db.query<{ target: string; state: SyncStateName; count: number }>(
      'SELECT target, state, SUM(n)::bigint AS count FROM sync_count GROUP BY target, state HAVING SUM(n) > 0 ORDER BY target, state'
    );
    return r.rows;
  }

  async targetStatus(now = new Date()): Promise<TargetStatus[]> {
    await foldCounters(this.db);
    const byTarget = new Map<string, TargetStatus>();
    const get = (target: string): TargetStatus => {
      let t = byTarget.get(target);
      if (!t) {
        t = { target, states: {}, queued: 0, deadLetters: 0, heldBy: {} };
        byTarget.set(target, t);
      }
      return t;
    };
    const counts = await this.db.query<{ target: string; state: SyncStateName; reason_code: string; n: number }>(
      'SELECT target, state, reason_code, SUM(n)::bigint AS n FROM sync_count GROUP BY target, state, reason_code HAVING SUM(n) > 0'
    );
    for (const c of counts.rows) {
      const t = get(c.target);
      t.states[c.state] = (t.states[c.state] ?? 0) + c.n;
      if (c.state === 'held') {
        const code = c.reason_code || 'unknown';
        t.heldBy[code] = (t.heldBy[code] ?? 0) + c.n;
      }
    }
    const queues = await this.db.query<{ target: string; parked: boolean; n: number }>(
      'SELECT target, parked, SUM(n)::bigint AS n FROM outbox_count GROUP BY target, parked HAVING SUM(n) > 0'
    );
    for (const q of queues.rows) {
      const t = get(q.target);
      if (q.parked) {
        t.deadLetters = q.n;
        continue;
      }
      t.queued = q.n;
      const first = (
        await this.db.query<{ enqueued_at: string }>('SELECT enqueued_at FROM outbox WHERE target = $1 AND dead_at IS NULL ORDER BY seq LIMIT 1', [q.target])
      ).rows[0];
      if (first && Date.parse(first.enqueued_at) <= now.getTime()) {
        t.oldestPendingAt = first.enqueued_at;
      }
    }
    return [...byTarget.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  async listDeadLetters(filter: DeliveryFilter, limit = 1000): Promise<DeadLetter[]> {
    const f = outboxFilter(filter, 'dead-letter', 1);
    const r = await this.db.query<DeadLetterRow>(
      `SELECT o.kind, o.record_id, o.target, r.client_mrn, o.record_version, o.attempts, o.failures, o.dead_at,
              s.reason, s.reason_code, s.outcome
       FROM outbox o
       ${filter.clientMrn !== undefined ? 'JOIN' : 'LEFT JOIN'} records r ON r.kind = o.kind AND r.id = o.record_id
       ${filter.reasonCode !== undefined ? 'JOIN' : 'LEFT JOIN'} sync_state s ON s.kind = o.kind AND s.record_id = o.record_id AND s.target = o.target
       ${whereClause(['o.dead_at IS NOT NULL', ...f.where])}
       ORDER BY o.dead_at, o.seq LIMIT $${f.params.length + 1}`,
      [...f.params, limit]
    );
    return r.rows.map(toDeadLetter);
  }

  async listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit = 1000): Promise<(SyncState & { clientMrn: string | null })[]> {
    const f = stateFilter(filter, filter.state ? [filter.state] : undefined, 1);
    const order = 'ORDER BY s.updated_at, s.kind, s.record_id, s.target';
    const n = `$${f.params.length + 1}`;
    // By client, the client's records drive the query. Otherwise the page of states is chosen first and
    // only its rows look up their record (a join first would read every match's record to keep `limit`).
    const sql =
      filter.clientMrn !== undefined
        ? `SELECT s.*, r.client_mrn FROM sync_state s JOIN records r ON r.kind = s.kind AND r.id = s.record_id
           ${whereClause(f.where)} ${order} LIMIT ${n}`
        : `SELECT s.*, r.client_mrn FROM (SELECT * FROM sync_state s ${whereClause(f.where)} ${order} LIMIT ${n}) s
           LEFT JOIN records r ON r.kind = s.kind AND r.id = s.record_id ${order}`;
    const r = await this.db.query<SyncStateRow & { client_mrn: string | null }>(sql, [...f.params, limit]);
    return r.rows.map((row) => ({ ...toSyncState(row), clientMrn: row.client_mrn }));
  }

  async outboxSize(target?: string): Promise<number> {
    await foldCounters(this.db);
    const r =
      target === undefined
        ? await this.db.query<{ n: number }>('SELECT COALESCE(SUM(n), 0)::bigint AS n FROM outbox_count')
        : await this.db.query<{ n: number }>('SELECT COALESCE(SUM(n), 0)::bigint AS n FROM outbox_count WHERE target = $1', [target]);
    return r.rows[0].n;
  }
}
