/**
 * Statements on a client's queue shared by the records and outbox slices (call inside a transaction):
 * locking queue heads in one order, enqueueing a record version, and the due time of an entry made due now.
 */
import type { RecordKind } from '../../domain/records.js';
import type { Queryable } from './db.js';
import { setSyncState } from './sync-state-rows.js';

/** The due time of an entry made due now (`t`: a parameter): its arrival time, so it keeps its place in line. */
export const dueNow = (t: string): string => `LEAST(${t}, COALESCE(outbox.arrived_at, ${t}))`;

/**
 * Locks the existing queue heads of these (client, target) pairs in one order (sorted), before a
 * transaction changes their queues. Heads created later by the triggers are new rows nobody else holds.
 */
export async function lockHeads(c: Queryable, heads: { clientKey: string; target: string }[]): Promise<void> {
  const unique = [...new Map(heads.map((h) => [`${h.target}\u0000${h.clientKey}`, h])).values()];
  if (unique.length === 0) {
    return;
  }
  await c.query(
    `SELECT 1 FROM outbox_head h JOIN unnest($1::text[], $2::text[]) AS k(client_key, target)
       ON h.client_key = k.client_key AND h.target = k.target
     ORDER BY h.client_key, h.target FOR UPDATE OF h`,
    [unique.map((h) => h.clientKey), unique.map((h) => h.target)]
  );
}

/**
 * Enqueues (or re-enqueues) a record version for a target and marks it pending; call inside a
 * transaction. A newer version replaces a pending one (coalescing) and starts afresh.
 */
export async function enqueueRow(
  c: Queryable,
  e: { kind: RecordKind; recordId: string; target: string; version: number; clientKey: string; now: string }
): Promise<void> {
  const t = Date.parse(e.now);
  await c.query(
    `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at, arrived_at)
     VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $6)
     ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
       client_key = excluded.client_key, attempts = 0, next_attempt_at = ${dueNow('$6')},
       dead_at = NULL, failures = 0, failing_since = NULL`,
    [e.kind, e.recordId, e.target, e.version, e.clientKey, t, e.now]
  );
  await setSyncState(c, { kind: e.kind, recordId: e.recordId, target: e.target, state: 'pending', attempts: 0, now: e.now });
}
