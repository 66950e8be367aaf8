/** Writes a record's sync state on one target; used inside the transactions of the records and outbox slices. */
import type { StateWrite } from '../sqlite/sync-state-rows.js';
import type { Queryable } from './db.js';

export type { StateWrite } from '../sqlite/sync-state-rows.js';

export async function setSyncState(c: Queryable, s: StateWrite): Promise<void> {
  await c.query(
    `INSERT INTO sync_state (kind, record_id, target, state, reason, reason_code, outcome, attempts, next_attempt_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (kind, record_id, target) DO UPDATE SET state = excluded.state, reason = excluded.reason,
       reason_code = excluded.reason_code, outcome = excluded.outcome, attempts = excluded.attempts,
       next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`,
    [
      s.kind,
      s.recordId,
      s.target,
      s.state,
      s.reason ?? null,
      s.code ?? null,
      s.outcome ? JSON.stringify(s.outcome) : null,
      s.attempts,
      s.nextAttemptAt ?? null,
      s.now,
    ]
  );
}

/** A record's current state and reason code on one target (primary key lookup), if any. */
export async function getSyncStateCode(
  c: Queryable,
  kind: string,
  recordId: string,
  target: string
): Promise<{ state: string; reason_code: string | null } | undefined> {
  const r = await c.query<{ state: string; reason_code: string | null }>(
    'SELECT state, reason_code FROM sync_state WHERE kind = $1 AND record_id = $2 AND target = $3',
    [kind, recordId, target]
  );
  return r.rows[0];
}
