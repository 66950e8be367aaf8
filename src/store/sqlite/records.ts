/** The records slice on SQLite: source records, versioned, enqueued for their targets as they are stored. */
import type { RecordKind } from '../../domain/records.js';
import { contentHash } from '../hash.js';
import type { RecordStore } from '../port.js';
import type { PutRecordInput, PutRecordResult, RecordFilter, StoredRecord } from '../types.js';
import type { SqliteDb } from './db.js';
import { enqueueRow } from './outbox.js';
import { type RecordRow, toRecord } from './rows.js';
import { setSyncState } from './sync-state-rows.js';

export class SqliteRecords implements RecordStore {
  constructor(private readonly db: SqliteDb) {}

  async putRecord(input: PutRecordInput): Promise<PutRecordResult> {
    return this.db.tx(() => this.putOne(input, new Date().toISOString()));
  }

  async putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]> {
    return this.db.tx(() => {
      const now = new Date().toISOString();
      return inputs.map((input) => this.putOne(input, now));
    });
  }

  private putOne(input: PutRecordInput, now: string): PutRecordResult {
    const { db } = this;
    const hash = contentHash(input.record);
    const existing = db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(input.kind, input.record.id) as RecordRow | undefined;
    if (existing && existing.hash === hash) {
      return { record: toRecord(existing), changed: false, created: false };
    }
    const version = existing ? existing.version + 1 : 1;
    const receivedAt = existing?.received_at ?? now;
    db.prepare(
      `INSERT INTO records (kind, id, client_mrn, version, hash, body, received_at, updated_at)
       VALUES (@kind, @id, @clientMrn, @version, @hash, @body, @receivedAt, @now)
       ON CONFLICT (kind, id) DO UPDATE SET client_mrn = excluded.client_mrn, version = excluded.version,
         hash = excluded.hash, body = excluded.body, updated_at = excluded.updated_at`
    ).run({
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
      db.prepare('UPDATE outbox SET client_key = ? WHERE client_key = ?').run(input.clientKey, `session:${input.record.id}`);
    }
    if (input.blocked) {
      // Blocked records never enter the outbox; drop any entry an earlier version left behind.
      db.prepare('DELETE FROM outbox WHERE kind = ? AND record_id = ?').run(input.kind, input.record.id);
      db.prepare('DELETE FROM sync_state WHERE kind = ? AND record_id = ?').run(input.kind, input.record.id);
      setSyncState(db, { kind: input.kind, recordId: input.record.id, target: 'local', state: 'blocked', reason: input.blocked, attempts: 0, now });
    } else {
      for (const target of input.targets) {
        enqueueRow(db, { kind: input.kind, recordId: input.record.id, target, version, clientKey: input.clientKey, now });
      }
    }
    const stored = db.prepare('SELECT * FROM records WHERE kind = ? AND id = ?').get(input.kind, input.record.id) as RecordRow;
    return { record: toRecord(stored), changed: true, created: !existing };
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
