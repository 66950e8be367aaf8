/** Read-only status queries on SQLite: sync states, dead letters, the review list, figures per target. */
import type { RecordKind } from '../../domain/records.js';
import type { StatusQueries } from '../port.js';
import type { DeadLetter, DeliveryFilter, SyncState, SyncStateName, TargetStatus } from '../types.js';
import type { SqliteDb } from './db.js';
import { deliveryFilterParams, deliveryFilterSql } from './filters.js';
import { type DeadLetterRow, type SyncStateRow, toDeadLetter, toSyncState } from './rows.js';

export class SqliteStatus implements StatusQueries {
  constructor(private readonly db: SqliteDb) {}

  async getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]> {
    const rows = this.db.prepare('SELECT * FROM sync_state WHERE kind = ? AND record_id = ? ORDER BY target').all(kind, id) as SyncStateRow[];
    return rows.map(toSyncState);
  }

  async countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]> {
    return this.db
      .prepare('SELECT target, state, COUNT(*) AS count FROM sync_state GROUP BY target, state ORDER BY target, state')
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
    for (const c of await this.countSyncStates()) {
      get(c.target).states[c.state] = c.count;
    }
    const held = this.db
      .prepare(`SELECT target, COALESCE(reason_code, 'unknown') AS code, COUNT(*) AS n FROM sync_state WHERE state = 'held' GROUP BY target, code`)
      .all() as { target: string; code: string; n: number }[];
    for (const h of held) {
      get(h.target).heldBy[h.code] = h.n;
    }
    const queues = this.db
      .prepare(
        `SELECT target, SUM(dead_at IS NULL) AS queued, SUM(dead_at IS NOT NULL) AS dead,
                MIN(CASE WHEN dead_at IS NULL THEN enqueued_at END) AS oldest
         FROM outbox GROUP BY target`
      )
      .all() as { target: string; queued: number; dead: number; oldest: string | null }[];
    for (const q of queues) {
      const t = get(q.target);
      t.queued = q.queued;
      t.deadLetters = q.dead;
      if (q.oldest && Date.parse(q.oldest) <= now.getTime()) {
        t.oldestPendingAt = q.oldest;
      }
    }
    return [...byTarget.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  async listDeadLetters(filter: DeliveryFilter, limit = 1000): Promise<DeadLetter[]> {
    const rows = this.db
      .prepare(
        `SELECT o.kind, o.record_id, o.target, r.client_mrn, o.record_version, o.attempts, o.failures, o.dead_at,
                s.reason, s.reason_code, s.outcome
         FROM outbox o
         LEFT JOIN records r ON r.kind = o.kind AND r.id = o.record_id
         LEFT JOIN sync_state s ON s.kind = o.kind AND s.record_id = o.record_id AND s.target = o.target
         WHERE o.dead_at IS NOT NULL AND ${deliveryFilterSql('o')}
         ORDER BY o.dead_at, o.seq LIMIT @limit`
      )
      .all({ ...deliveryFilterParams(filter), limit }) as DeadLetterRow[];
    return rows.map(toDeadLetter);
  }

  async listSyncStates(filter: DeliveryFilter & { state?: SyncStateName }, limit = 1000): Promise<(SyncState & { clientMrn: string | null })[]> {
    const rows = this.db
      .prepare(
        `SELECT s.*, r.client_mrn FROM sync_state s
         LEFT JOIN records r ON r.kind = s.kind AND r.id = s.record_id
         WHERE (@state IS NULL OR s.state = @state) AND ${deliveryFilterSql('s')}
         ORDER BY s.updated_at, s.kind, s.record_id LIMIT @limit`
      )
      .all({ ...deliveryFilterParams(filter), state: filter.state ?? null, limit }) as (SyncStateRow & { client_mrn: string | null })[];
    return rows.map((r) => ({ ...toSyncState(r), clientMrn: r.client_mrn }));
  }

  async outboxSize(target?: string): Promise<number> {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE (? IS NULL OR target = ?)').get(target ?? null, target ?? null) as { n: number };
    return row.n;
  }
}
