/**
 * Read-only status queries on SQLite: sync states, dead letters, the review list, figures per target.
 * Figures come from counters the triggers keep in the same transactions as the transitions
 * (sync_count, outbox_count: a few rows per target), lists from the indexes their filters name.
 */
import type { RecordKind } from '../../domain/records.js';
import type { StatusQueries } from '../port.js';
import type { DeadLetter, DeliveryFilter, SyncState, SyncStateName, TargetStatus } from '../types.js';
import type { SqliteDb } from './db.js';
import { outboxFilterSql, stateFilterSql, whereClause } from './filters.js';
import { type DeadLetterRow, type SyncStateRow, toDeadLetter, toSyncState } from './rows.js';

export class SqliteStatus implements StatusQueries {
  constructor(private readonly db: SqliteDb) {}

  async getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]> {
    const rows = this.db.prepare('SELECT * FROM sync_state WHERE kind = ? AND record_id = ? ORDER BY target').all(kind, id) as SyncStateRow[];
    return rows.map(toSyncState);
  }

  async countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]> {
    return this.db
      .prepare('SELECT target, state, SUM(n) AS count FROM sync_count GROUP BY target, state HAVING SUM(n) > 0 ORDER BY target, state')
      .all() as { target: string; state: SyncStateName; count: number }[];
  }

  async targetStatus(now = new Date()): Promise<TargetStatus[]> {
    const byTarget = new Map<string, TargetStatus>();
    const get = (target: string): TargetStatus => {
      let t = byTarget.get(target);
      if (!t) {
        t = { target, states: {}, queued: 0, deadLetters: 0, heldBy: {} };
        byTarget.set(target, t);
      }
      return t;
    };
    const counts = this.db.prepare('SELECT target, state, reason_code, n FROM sync_count WHERE n > 0').all() as {
      target: string;
      state: SyncStateName;
      reason_code: string;
      n: number;
    }[];
    for (const c of counts) {
      const t = get(c.target);
      t.states[c.state] = (t.states[c.state] ?? 0) + c.n;
      if (c.state === 'held') {
        const code = c.reason_code || 'unknown';
        t.heldBy[code] = (t.heldBy[code] ?? 0) + c.n;
      }
    }
    const queues = this.db.prepare('SELECT target, parked, n FROM outbox_count WHERE n > 0').all() as { target: string; parked: number; n: number }[];
    const oldest = this.db.prepare('SELECT enqueued_at FROM outbox WHERE target = ? AND dead_at IS NULL ORDER BY seq LIMIT 1');
    for (const q of queues) {
      const t = get(q.target);
      if (q.parked) {
        t.deadLetters = q.n;
        continue;
      }
      t.queued = q.n;
      const first = oldest.get(q.target) as { enqueued_at: string } | undefined;
      if (first && Date.parse(first.enqueued_at) <= now.getTime()) {
        t.oldestPendingAt = first.enqueued_at;
      }
    }
    return [...byTarget.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  async listDeadLetters(filter: DeliveryFilter, limit = 1000): Promise<DeadLetter[]> {
    const f = outboxFilterSql(filter, 'dead-letter');
    const rows = this.db
      .prepare(
        `SELECT o.kind, o.record_id, o.target, r.client_mrn, o.record_version, o.attempts, o.failures, o.dead_at,
                s.reason, s.reason_code, s.outcome
         FROM outbox o${drivenByParked(filter) ? ' INDEXED BY outbox_parked' : ''}
         ${filter.clientMrn !== undefined ? 'JOIN' : 'LEFT JOIN'} records r ON r.kind = o.kind AND r.id = o.record_id
         ${filter.reasonCode !== undefined ? 'JOIN' : 'LEFT JOIN'} sync_state s ON s.kind = o.kind AND s.record_id = o.record_id AND s.target = o.target
         ${whereClause(['o.dead_at IS NOT NULL', ...f.where])}
         ORDER BY o.dead_at, o.seq LIMIT @limit`
      )
      .all({ ...f.params, limit }) as DeadLetterRow[];
    return rows.map(toDeadLetter);
  }

  async listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit = 1000): Promise<(SyncState & { clientMrn: string | null })[]> {
    const f = stateFilterSql(filter, filter.state ? [filter.state] : undefined);
    const rows = this.db
      .prepare(
        `SELECT s.*, r.client_mrn FROM sync_state s
         ${filter.clientMrn !== undefined ? 'JOIN' : 'LEFT JOIN'} records r ON r.kind = s.kind AND r.id = s.record_id
         ${whereClause(f.where)}
         ORDER BY s.updated_at, s.rowid LIMIT @limit`
      )
      .all({ ...f.params, limit }) as (SyncStateRow & { client_mrn: string | null })[];
    return rows.map((r) => ({ ...toSyncState(r), clientMrn: r.client_mrn }));
  }

  async outboxSize(target?: string): Promise<number> {
    const row = (
      target === undefined
        ? this.db.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM outbox_count').get()
        : this.db.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM outbox_count WHERE target = ?').get(target)
    ) as { n: number };
    return row.n;
  }
}

/** Dead letters with nothing more selective to go by are read from the parked entries' own index, in order. */
function drivenByParked(f: DeliveryFilter): boolean {
  return f.recordId === undefined && f.clientMrn === undefined && f.reasonCode === undefined;
}
