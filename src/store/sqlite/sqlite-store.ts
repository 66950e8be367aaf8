/**
 * The embedded durable store on SQLite (better-sqlite3) in WAL mode with synchronous=FULL: a commit
 * is on disk before we acknowledge it, so nothing accepted is lost on restart or kill -9.
 * better-sqlite3 is synchronous; the async Store contract is kept for the PostgreSQL implementation.
 */
import Database from 'better-sqlite3';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordKind } from '../../domain/records.js';
import { contentHash } from '../hash.js';
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
  Store,
  StoredRecord,
  SyncState,
  SyncStateName,
  TargetStatus,
  WriteIntent,
} from '../port.js';
import {
  type AuditRow,
  type DeadLetterRow,
  type LedgerRow,
  type OutboxRow,
  type RecordRow,
  type SyncStateRow,
  type WriteIntentRow,
  toAudit,
  toDeadLetter,
  toLedger,
  toOutbox,
  toRecord,
  toSyncState,
  toWriteIntent,
} from './rows.js';
import { migrate } from './schema.js';

/** Opens (creating if needed) a SQLite database file with the durability settings we rely on. */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared statements by SQL text: preparing costs more than running them (measured in the sync). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.db = openDatabase(path);
    migrate(this.db);
    // The embedded store serves one process at a time, so any lease found at open belongs to a process
    // that died (kill -9, power loss): release it now instead of stalling its client until it expires.
    this.db.prepare('UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL').run();
  }

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async putRecord(input: PutRecordInput): Promise<PutRecordResult> {
    return this.db.transaction(() => this.putOne(input, new Date().toISOString()))();
  }

  async putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]> {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      return inputs.map((input) => this.putOne(input, now));
    })();
  }

  private putOne(input: PutRecordInput, now: string): PutRecordResult {
    const hash = contentHash(input.record);
    const existing = this
      .prepare('SELECT * FROM records WHERE kind = ? AND id = ?')
      .get(input.kind, input.record.id) as RecordRow | undefined;
    if (existing && existing.hash === hash) {
      return { record: toRecord(existing), changed: false, created: false };
    }
    const version = existing ? existing.version + 1 : 1;
    const receivedAt = existing?.received_at ?? now;
    this
      .prepare(
        `INSERT INTO records (kind, id, client_mrn, version, hash, body, received_at, updated_at)
         VALUES (@kind, @id, @clientMrn, @version, @hash, @body, @receivedAt, @now)
         ON CONFLICT (kind, id) DO UPDATE SET client_mrn = excluded.client_mrn, version = excluded.version,
           hash = excluded.hash, body = excluded.body, updated_at = excluded.updated_at`
      )
      .run({
        kind: input.kind,
        id: input.record.id,
        clientMrn: input.clientMrn,
        version,
        hash,
        body: JSON.stringify(input.record),
        receivedAt,
        now,
      });
    if (input.kind === 'session' && !input.blocked) {
      // Notes received before their session waited under the session's key: they join the client's
      // queue now, so the client's records (and their shared dependencies) are never sent concurrently.
      this.prepare('UPDATE outbox SET client_key = ? WHERE client_key = ?').run(input.clientKey, `session:${input.record.id}`);
    }
    if (input.blocked) {
      // Blocked records never enter the outbox; drop any entry an earlier version left behind.
      this.prepare('DELETE FROM outbox WHERE kind = ? AND record_id = ?').run(input.kind, input.record.id);
      this.prepare('DELETE FROM sync_state WHERE kind = ? AND record_id = ?').run(input.kind, input.record.id);
      this.setState(input.kind, input.record.id, 'local', 'blocked', input.blocked, undefined, 0, undefined, now);
    } else {
      for (const target of input.targets) {
        this
          .prepare(
            `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?)
             ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
               client_key = excluded.client_key, attempts = 0, next_attempt_at = excluded.next_attempt_at,
               dead_at = NULL, failures = 0, failing_since = NULL`
          )
          .run(input.kind, input.record.id, target, version, input.clientKey, Date.parse(now), now);
        this.setState(input.kind, input.record.id, target, 'pending', undefined, undefined, 0, undefined, now);
      }
    }
    const stored = this
      .prepare('SELECT * FROM records WHERE kind = ? AND id = ?')
      .get(input.kind, input.record.id) as RecordRow;
    return { record: toRecord(stored), changed: true, created: !existing };
  }

  private setState(
    kind: RecordKind,
    recordId: string,
    target: string,
    state: SyncStateName,
    reason: string | undefined,
    outcome: OperationOutcome | undefined,
    attempts: number,
    nextAttemptAt: string | undefined,
    now: string,
    code?: string
  ): void {
    this
      .prepare(
        `INSERT INTO sync_state (kind, record_id, target, state, reason, reason_code, outcome, attempts, next_attempt_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, record_id, target) DO UPDATE SET state = excluded.state, reason = excluded.reason,
           reason_code = excluded.reason_code, outcome = excluded.outcome, attempts = excluded.attempts,
           next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`
      )
      .run(kind, recordId, target, state, reason ?? null, code ?? null, outcome ? JSON.stringify(outcome) : null, attempts, nextAttemptAt ?? null, now);
  }

  async getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined> {
    const row = this.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(kind, id) as RecordRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]> {
    const stmt = this.prepare('SELECT * FROM records WHERE kind = ? AND id = ?');
    return ids.flatMap((id) => {
      const row = stmt.get(kind, id) as RecordRow | undefined;
      return row ? [toRecord(row)] : [];
    });
  }

  async listRecords(filter: RecordFilter): Promise<StoredRecord[]> {
    const rows = this
      .prepare(
        `SELECT * FROM records WHERE (@kind IS NULL OR kind = @kind) AND (@mrn IS NULL OR client_mrn = @mrn)
         ORDER BY kind, id`
      )
      .all({ kind: filter.kind ?? null, mrn: filter.clientMrn ?? null }) as RecordRow[];
    return rows.map(toRecord);
  }

  async getSyncStates(kind: RecordKind, id: string): Promise<SyncState[]> {
    const rows = this
      .prepare('SELECT * FROM sync_state WHERE kind = ? AND record_id = ? ORDER BY target')
      .all(kind, id) as SyncStateRow[];
    return rows.map(toSyncState);
  }

  async countSyncStates(): Promise<{ target: string; state: SyncStateName; count: number }[]> {
    return this
      .prepare('SELECT target, state, COUNT(*) AS count FROM sync_state GROUP BY target, state ORDER BY target, state')
      .all() as { target: string; state: SyncStateName; count: number }[];
  }

  async claimOutbox(target: string, limit: number, leaseMs: number, now = new Date()): Promise<OutboxEntry[]> {
    const t = now.getTime();
    return this.db.transaction(() => {
      // The oldest due entry of each client whose other entries are not in flight: per-client order,
      // while a client that keeps failing only delays itself. One pass over the due entries (grouped by
      // client), then a look at the few leased ones: the claim runs after every record, so it must not
      // grow with the square of the backlog.
      const rows = this
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
      const lease = this.prepare('UPDATE outbox SET lease_until = ? WHERE seq = ?');
      for (const r of rows) {
        lease.run(t + leaseMs, r.seq);
      }
      return rows.map(toOutbox);
    })();
  }

  async completeOutbox(entry: OutboxEntry, ledger: LedgerEntry[], audit: AuditEntry[] = [], note?: string): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.insertAudit(audit);
      this.upsertLedger(ledger);
      // A newer version may have been enqueued while we worked: then the entry stays, due now.
      const removed = this
        .prepare('DELETE FROM outbox WHERE seq = ? AND record_version <= ?')
        .run(entry.seq, entry.recordVersion);
      if (removed.changes === 0) {
        this.prepare('UPDATE outbox SET lease_until = NULL WHERE seq = ?').run(entry.seq);
        this.setState(entry.kind, entry.recordId, entry.target, 'pending', undefined, undefined, 0, undefined, now);
      } else {
        this.setState(entry.kind, entry.recordId, entry.target, 'synced', note, undefined, entry.attempts + 1, undefined, now);
      }
    })();
  }

  /** Upserts ledger entries and drops the write intents they resolve; call inside a transaction. */
  private upsertLedger(ledger: LedgerEntry[]): void {
    const upsert = this.prepare(
      `INSERT INTO ledger (target, resource_type, identifier, kind, record_id, resource_id, version_id, record_version,
         mapping, content_hash, synced_at)
       VALUES (@target, @resourceType, @identifier, @kind, @recordId, @resourceId, @versionId, @recordVersion,
         @mapping, @contentHash, @syncedAt)
       ON CONFLICT (target, resource_type, identifier) DO UPDATE SET kind = excluded.kind, record_id = excluded.record_id,
         resource_id = excluded.resource_id, version_id = excluded.version_id, record_version = excluded.record_version,
         mapping = excluded.mapping, content_hash = excluded.content_hash, synced_at = excluded.synced_at`
    );
    const clear = this.prepare('DELETE FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?');
    for (const l of ledger) {
      upsert.run(l);
      clear.run(l.target, l.resourceType, l.identifier);
    }
  }

  async recordLedger(entries: LedgerEntry[]): Promise<void> {
    this.db.transaction(() => this.upsertLedger(entries))();
  }

  async deleteLedger(target: string, resourceType: string, identifier: string): Promise<void> {
    this.prepare('DELETE FROM ledger WHERE target = ? AND resource_type = ? AND identifier = ?').run(target, resourceType, identifier);
  }

  async listLedger(target: string): Promise<LedgerEntry[]> {
    const rows = this.prepare('SELECT * FROM ledger WHERE target = ? ORDER BY resource_type, identifier').all(target) as LedgerRow[];
    return rows.map(toLedger);
  }

  async putWriteIntent(i: WriteIntent): Promise<void> {
    this
      .prepare(
        `INSERT INTO write_intent (target, resource_type, identifier, kind, record_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, resource_type, identifier) DO NOTHING`
      )
      .run(i.target, i.resourceType, i.identifier, i.kind, i.recordId, i.createdAt);
  }

  async getWriteIntent(target: string, resourceType: string, identifier: string): Promise<WriteIntent | undefined> {
    const row = this
      .prepare('SELECT * FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?')
      .get(target, resourceType, identifier) as WriteIntentRow | undefined;
    return row ? toWriteIntent(row) : undefined;
  }

  async clearWriteIntent(target: string, resourceType: string, identifier: string): Promise<void> {
    this.prepare('DELETE FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?').run(target, resourceType, identifier);
  }

  async parkOutbox(entry: OutboxEntry, reason: string, code: string, outcome?: OperationOutcome, audit: AuditEntry[] = []): Promise<void> {
    const now = new Date();
    this.db.transaction(() => {
      this.insertAudit(audit);
      this.db
        // Parking always follows a failed attempt: it counts.
        .prepare('UPDATE outbox SET attempts = attempts + 1, failures = failures + 1, dead_at = ?, lease_until = NULL WHERE seq = ?')
        .run(now.getTime(), entry.seq);
      this.setState(entry.kind, entry.recordId, entry.target, 'dead-letter', reason, outcome, entry.attempts + 1, undefined, now.toISOString(), code);
    })();
  }

  async markNotWritable(entry: OutboxEntry, reason: string, ledger: LedgerEntry[] = [], audit: AuditEntry[] = []): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.insertAudit(audit);
      this.upsertLedger(ledger);
      // As in completeOutbox: a newer version that arrived meanwhile keeps its entry.
      const removed = this.prepare('DELETE FROM outbox WHERE seq = ? AND record_version <= ?').run(entry.seq, entry.recordVersion);
      if (removed.changes === 0) {
        this.prepare('UPDATE outbox SET lease_until = NULL WHERE seq = ?').run(entry.seq);
        this.setState(entry.kind, entry.recordId, entry.target, 'pending', undefined, undefined, 0, undefined, now);
      } else {
        this.setState(entry.kind, entry.recordId, entry.target, 'not-writable', reason, undefined, entry.attempts + 1, undefined, now, 'not-writable');
      }
    })();
  }

  async listDeadLetters(filter: DeliveryFilter, limit = 1000): Promise<DeadLetter[]> {
    const rows = this
      .prepare(
        `SELECT o.kind, o.record_id, o.target, r.client_mrn, o.record_version, o.attempts, o.failures, o.dead_at,
                s.reason, s.reason_code, s.outcome
         FROM outbox o
         LEFT JOIN records r ON r.kind = o.kind AND r.id = o.record_id
         LEFT JOIN sync_state s ON s.kind = o.kind AND s.record_id = o.record_id AND s.target = o.target
         WHERE o.dead_at IS NOT NULL AND ${FILTER_SQL('o')}
         ORDER BY o.dead_at, o.seq LIMIT @limit`
      )
      .all({ ...filterParams(filter), limit }) as DeadLetterRow[];
    return rows.map(toDeadLetter);
  }

  async listSyncStates(
    filter: DeliveryFilter & { state?: SyncStateName },
    limit = 1000
  ): Promise<(SyncState & { clientMrn: string | null })[]> {
    const rows = this
      .prepare(
        `SELECT s.*, r.client_mrn FROM sync_state s
         LEFT JOIN records r ON r.kind = s.kind AND r.id = s.record_id
         WHERE (@state IS NULL OR s.state = @state) AND ${FILTER_SQL('s')}
         ORDER BY s.updated_at, s.kind, s.record_id LIMIT @limit`
      )
      .all({ ...filterParams(filter), state: filter.state ?? null, limit }) as (SyncStateRow & { client_mrn: string | null })[];
    return rows.map((r) => ({ ...toSyncState(r), clientMrn: r.client_mrn }));
  }

  async wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number> {
    const now = Date.now();
    return this
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
      .run({ ...filterParams(filter), state: filter.state ?? null, now }).changes;
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
    const held = this
      .prepare(`SELECT target, COALESCE(reason_code, 'unknown') AS code, COUNT(*) AS n FROM sync_state WHERE state = 'held' GROUP BY target, code`)
      .all() as { target: string; code: string; n: number }[];
    for (const h of held) {
      get(h.target).heldBy[h.code] = h.n;
    }
    const queues = this
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
    this.db.transaction(() => {
      this.insertAudit(audit);
      this
        .prepare(
          `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,
             failures = failures + ?, failing_since = CASE WHEN ? THEN COALESCE(failing_since, ?) ELSE failing_since END
           WHERE seq = ?`
        )
        .run(nextAttemptAt.getTime(), counts ? 1 : 0, counts ? 1 : 0, now.getTime(), entry.seq);
      this.setState(entry.kind, entry.recordId, entry.target, state, reason, outcome, entry.attempts + 1, nextAttemptAt.toISOString(), now.toISOString(), options.code);
    })();
  }

  async blockOutbox(entry: OutboxEntry, reason: string, audit: AuditEntry[] = []): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.insertAudit(audit);
      this.prepare('DELETE FROM outbox WHERE seq = ?').run(entry.seq);
      this.setState(entry.kind, entry.recordId, entry.target, 'blocked', reason, undefined, entry.attempts + 1, undefined, now);
    })();
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    this.db.transaction(() => this.insertAudit(entries))();
  }

  private insertAudit(entries: AuditEntry[]): void {
    const insert = this.prepare(
      `INSERT INTO audit (id, recorded, client_mrn, kind, record_id, target, category, outcome, event)
       VALUES (@id, @recorded, @clientMrn, @kind, @recordId, @target, @category, @outcome, @event)`
    );
    for (const e of entries) {
      insert.run({
        id: e.id,
        recorded: e.recorded,
        clientMrn: e.clientMrn,
        kind: e.kind ?? null,
        recordId: e.recordId ?? null,
        target: e.target ?? null,
        category: e.category,
        outcome: e.outcome,
        event: JSON.stringify(e.event),
      });
    }
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const rows = this
      .prepare(
        `SELECT * FROM audit WHERE (@mrn IS NULL OR client_mrn = @mrn) AND (@kind IS NULL OR kind = @kind)
           AND (@recordId IS NULL OR record_id = @recordId) AND (@category IS NULL OR category = @category)
         ORDER BY recorded, rowid`
      )
      .all({
        mrn: filter.clientMrn ?? null,
        kind: filter.kind ?? null,
        recordId: filter.recordId ?? null,
        category: filter.category ?? null,
      }) as AuditRow[];
    return rows.map(toAudit);
  }

  async requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number> {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      let n = 0;
      for (const k of keys) {
        const row = this.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(k.kind, k.id) as RecordRow | undefined;
        const blocked = this
          .prepare("SELECT 1 FROM sync_state WHERE kind = ? AND record_id = ? AND target = 'local' AND state = 'blocked'")
          .get(k.kind, k.id);
        if (!row || blocked) {
          continue; // records kept local by policy are never queued
        }
        const clientKey = row.client_mrn ?? (this.prepare('SELECT client_key FROM outbox WHERE kind = ? AND record_id = ?').get(k.kind, k.id) as { client_key?: string } | undefined)?.client_key ?? `record:${k.kind}/${k.id}`;
        this
          .prepare(
            `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?)
             ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
               attempts = 0, next_attempt_at = excluded.next_attempt_at, lease_until = NULL,
               dead_at = NULL, failures = 0, failing_since = NULL`
          )
          .run(k.kind, k.id, target, row.version, clientKey, Date.parse(now), now);
        this.setState(k.kind, k.id, target, 'pending', undefined, undefined, 0, undefined, now);
        n++;
      }
      return n;
    })();
  }

  async wakeClient(target: string, clientKey: string, onlyHeld = false): Promise<number> {
    const now = Date.now();
    return this
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
    const row = this
      .prepare(
        `SELECT MIN(o.next_attempt_at) AS t FROM outbox o
         WHERE o.target = @target AND o.dead_at IS NULL AND (o.lease_until IS NULL OR o.lease_until < @now)
           AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.target = o.target AND b.client_key = o.client_key
                           AND b.lease_until IS NOT NULL AND b.lease_until >= @now)`
      )
      .get({ target, now: Date.now() }) as { t: number | null };
    return row.t === null ? undefined : new Date(row.t);
  }

  async outboxSize(target?: string): Promise<number> {
    const row = this
      .prepare('SELECT COUNT(*) AS n FROM outbox WHERE (? IS NULL OR target = ?)')
      .get(target ?? null, target ?? null) as { n: number };
    return row.n;
  }

  async getLedgerByIdentifier(target: string, resourceType: string, identifier: string): Promise<LedgerEntry | undefined> {
    const row = this
      .prepare('SELECT * FROM ledger WHERE target = ? AND resource_type = ? AND identifier = ?')
      .get(target, resourceType, identifier) as LedgerRow | undefined;
    return row ? toLedger(row) : undefined;
  }

  async getLedgerForRecord(target: string, kind: RecordKind, recordId: string): Promise<LedgerEntry[]> {
    const rows = this
      .prepare(
        `SELECT * FROM ledger WHERE target = ? AND kind = ? AND record_id = ? AND resource_type <> 'Provenance'
         ORDER BY resource_type, identifier`
      )
      .all(target, kind, recordId) as LedgerRow[];
    return rows.map(toLedger);
  }

  async close(): Promise<void> {
    if (this.db.open) {
      this.db.close();
    }
  }
}

/** The DeliveryFilter as SQL on an outbox or sync_state alias (both have kind, record_id, target). */
function FILTER_SQL(alias: string): string {
  return `(@target IS NULL OR ${alias}.target = @target) AND (@kind IS NULL OR ${alias}.kind = @kind)
    AND (@recordId IS NULL OR ${alias}.record_id = @recordId)
    AND (@mrn IS NULL OR EXISTS (SELECT 1 FROM records fr WHERE fr.kind = ${alias}.kind AND fr.id = ${alias}.record_id AND fr.client_mrn = @mrn))
    AND (@code IS NULL OR EXISTS (SELECT 1 FROM sync_state fs WHERE fs.kind = ${alias}.kind AND fs.record_id = ${alias}.record_id
                                  AND fs.target = ${alias}.target AND fs.reason_code = @code))`;
}

function filterParams(f: DeliveryFilter): Record<string, string | null> {
  return {
    target: f.target ?? null,
    kind: f.kind ?? null,
    recordId: f.recordId ?? null,
    mrn: f.clientMrn ?? null,
    code: f.reasonCode ?? null,
  };
}
