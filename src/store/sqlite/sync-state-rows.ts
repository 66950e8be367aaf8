/** Writes a record's sync state on one target; used inside the transactions of the records and outbox slices. */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordKind } from '../../domain/records.js';
import type { SyncStateName } from '../types.js';
import type { SqliteDb } from './db.js';

export interface StateWrite {
  kind: RecordKind;
  recordId: string;
  target: string;
  state: SyncStateName;
  reason?: string;
  code?: string;
  outcome?: OperationOutcome;
  attempts: number;
  nextAttemptAt?: string;
  now: string;
}

export function setSyncState(db: SqliteDb, s: StateWrite): void {
  db.prepare(
    `INSERT INTO sync_state (kind, record_id, target, state, reason, reason_code, outcome, attempts, next_attempt_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, record_id, target) DO UPDATE SET state = excluded.state, reason = excluded.reason,
       reason_code = excluded.reason_code, outcome = excluded.outcome, attempts = excluded.attempts,
       next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`
  ).run(
    s.kind,
    s.recordId,
    s.target,
    s.state,
    s.reason ?? null,
    s.code ?? null,
    s.outcome ? JSON.stringify(s.outcome) : null,
    s.attempts,
    s.nextAttemptAt ?? null,
    s.now
  );
}

/** A record's current state and reason code on one target (primary key lookup), if any. */
export function getSyncStateCode(db: SqliteDb, kind: string, recordId: string, target: string): { state: string; reason_code: string | null } | undefined {
  return db.prepare('SELECT state, reason_code FROM sync_state WHERE kind = ? AND record_id = ? AND target = ?').get(kind, recordId, target) as
    | { state: string; reason_code: string | null }
    | undefined;
}
