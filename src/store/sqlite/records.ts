/**
 * The records slice on SQLite: source records, versioned, enqueued for their targets as they are
 * stored. putRecordGroup is the intake's group commit: many requests' puts in one transaction, each in
 * its own savepoint.
 */
import type { RecordKind } from '../../domain/records.js';
import { internalError } from '../../outcomes.js';
import { contentHash } from '../hash.js';
import type { RecordStore } from '../port.js';
import type { GroupPut, GroupPutOutcome, ImportJobProgress } from '../import-jobs.js';
import type { PutRecordInput, PutRecordResult, RecordFilter, StoredRecord, SyncState } from '../types.js';
import type { SqliteDb } from './db.js';
import { writeJobProgress } from './import-jobs.js';
import { enqueueRow } from './outbox.js';
import { type RecordRow, toRecord } from './rows.js';
import { setSyncState } from './sync-state-rows.js';
import type { CommitSync } from './commit-sync.js';
import { WalSync } from './wal-sync.js';

export class SqliteRecords implements RecordStore {
  /** One put inside a savepoint: called within the group's transaction, better-sqlite3 nests it. */
  private readonly isolatedPut: (input: PutRecordInput, now: string) => PutRecordResult;
  /**
   * With STORE_COMMIT_SYNC=wal-fdatasync, group commits sync the WAL off the event loop (wal-sync.ts);
   * undefined with `full` (the default) and when not in WAL mode (in-memory).
   */
  private readonly walSync: WalSync | undefined;

  constructor(
    private readonly db: SqliteDb,
    commitSync: CommitSync = 'full'
  ) {
    this.isolatedPut = db.raw.transaction((input: PutRecordInput, now: string) => this.putOne(input, now));
    const wal = db.raw.pragma('journal_mode', { simple: true }) === 'wal' && !db.raw.memory;
    this.walSync = wal && commitSync === 'wal-fdatasync' ? new WalSync(`${db.raw.name}-wal`) : undefined;
  }

  close(): void {
    this.walSync?.close();
  }

  async putRecord(input: PutRecordInput): Promise<PutRecordResult> {
    return this.db.tx(() => this.putOne(input, new Date().toISOString()));
  }

  async putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]> {
    return this.db.tx(() => {
      const now = new Date().toISOString();
      return inputs.map((input) => this.putOne(input, now));
    });
  }

  async putRecordGroup(puts: GroupPut[], jobs: ImportJobProgress[] = [], afterWrite?: (outcomes: GroupPutOutcome[]) => void): Promise<GroupPutOutcome[]> {
    if (!this.walSync) {
      const written = this.writeGroup(puts, jobs);
      afterWrite?.(written);
      return written;
    }
    // The frames are written now (synchronous=NORMAL: no fsync on the event loop), and synced below,
    // off the loop, before the caller answers anyone: see wal-sync.ts.
    const level = this.db.raw.pragma('synchronous', { simple: true }) as number;
    this.db.raw.pragma('synchronous = NORMAL');
    let outcomes: GroupPutOutcome[];
    try {
      outcomes = this.writeGroup(puts, jobs);
    } finally {
      this.db.raw.pragma(`synchronous = ${level}`);
    }
    afterWrite?.(outcomes);
    await this.walSync.sync();
    return outcomes;
  }

  private writeGroup(puts: GroupPut[], jobs: ImportJobProgress[]): GroupPutOutcome[] {
    return this.db.tx(() => {
      const now = new Date().toISOString();
      const outcomes = puts.map((p): GroupPutOutcome => {
        try {
          return { ok: true, result: this.isolatedPut(p.input, now) };
        } catch (error) {
          return { ok: false, error };
        }
      });
      const jobLines = puts.flatMap((p, i) => {
        if (!p.job) {
          return [];
        }
        const o = outcomes[i];
        return [{ ...p.job, ...(o.ok ? { result: o.result } : { failure: internalError() }) }];
      });
      if (jobLines.length > 0 || jobs.length > 0) {
        writeJobProgress(this.db, jobs, jobLines, now);
      }
      return outcomes;
    });
  }

  private putOne(input: PutRecordInput, now: string): PutRecordResult {
    const { db } = this;
    const { kind } = input;
    const id = input.record.id;
    const hash = contentHash(input.record);
    // The stored body is not read back: an identical hash means identical content (canonical JSON).
    const existing = db.prepare('SELECT client_mrn, version, hash, received_at, updated_at FROM records WHERE kind = ? AND id = ?').get(kind, id) as
      | Pick<RecordRow, 'client_mrn' | 'version' | 'hash' | 'received_at' | 'updated_at'>
      | undefined;
    if (existing && existing.hash === hash) {
      const record: StoredRecord = {
        kind,
        id,
        clientMrn: existing.client_mrn,
        version: existing.version,
        hash,
        body: input.record,
        receivedAt: existing.received_at,
        updatedAt: existing.updated_at,
      };
      return { record, changed: false, created: false };
    }
    const version = existing ? existing.version + 1 : 1;
    const receivedAt = existing?.received_at ?? now;
    db.prepare(
      `INSERT INTO records (kind, id, client_mrn, version, hash, body, received_at, updated_at)
       VALUES (@kind, @id, @clientMrn, @version, @hash, @body, @receivedAt, @now)
       ON CONFLICT (kind, id) DO UPDATE SET client_mrn = excluded.client_mrn, version = excluded.version,
         hash = excluded.hash, body = excluded.body, updated_at = excluded.updated_at`
    ).run({ kind, id, clientMrn: input.clientMrn, version, hash, body: JSON.stringify(input.record), receivedAt, now });
    if (kind === 'session' && !input.blocked) {
      // Notes received before their session waited under the session's key: they join the client's
      // queue now, so the client's records (and their shared dependencies) are never sent concurrently.
      // By target, so that the outbox_client index (target, client_key, seq) finds them: without the
      // target the statement scanned the whole outbox once per session (quadratic imports).
      const rekey = db.prepare('UPDATE outbox SET client_key = ? WHERE target = ? AND client_key = ?');
      for (const target of input.targets) {
        rekey.run(input.clientKey, target, `session:${id}`);
      }
    }
    if (input.blocked) {
      // Blocked records never enter the outbox; drop any entry an earlier version left behind.
      db.prepare('DELETE FROM outbox WHERE kind = ? AND record_id = ?').run(kind, id);
      db.prepare('DELETE FROM sync_state WHERE kind = ? AND record_id = ?').run(kind, id);
      setSyncState(db, { kind, recordId: id, target: 'local', state: 'blocked', reason: input.blocked, attempts: 0, now });
    } else {
      for (const target of input.targets) {
        enqueueRow(db, { kind, recordId: id, target, version, clientKey: input.clientKey, now });
      }
    }
    const record: StoredRecord = { kind, id, clientMrn: input.clientMrn, version, hash, body: input.record, receivedAt, updatedAt: now };
    if (existing) {
      return { record, changed: true, created: false };
    }
    const createdStates: SyncState[] = input.blocked
      ? [{ kind, recordId: id, target: 'local', state: 'blocked', reason: input.blocked, attempts: 0, updatedAt: now }]
      : [...new Set(input.targets)].sort().map((target) => ({ kind, recordId: id, target, state: 'pending', attempts: 0, updatedAt: now }));
    return { record, changed: true, created: true, createdStates };
  }

  async getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(kind, id) as RecordRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]> {
    const stmt = this.db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?');
    return ids.flatMap((id) => {
      const row = stmt.get(kind, id) as RecordRow | undefined;
      return row ? [toRecord(row)] : [];
    });
  }

  async listRecords(filter: RecordFilter): Promise<StoredRecord[]> {
    // Only the given fields become conditions: `(@x IS NULL OR col = @x)` would keep the client index unused.
    const where: string[] = [];
    const params: Record<string, string> = {};
    if (filter.clientMrn !== undefined) {
      where.push('client_mrn = @mrn');
      params.mrn = filter.clientMrn;
    }
    if (filter.kind !== undefined) {
      where.push('kind = @kind');
      params.kind = filter.kind;
    }
    const rows = this.db
      .prepare(`SELECT * FROM records ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY kind, id`)
      .all(params) as RecordRow[];
    return rows.map(toRecord);
  }
}
