/** The ledger slice on SQLite: what this service wrote on each target, and write-ahead intents. */
import type { RecordKind } from '../../domain/records.js';
import type { LedgerStore } from '../port.js';
import type { LedgerEntry, WriteIntent } from '../types.js';
import type { SqliteDb } from './db.js';
import { type LedgerRow, type WriteIntentRow, toLedger, toWriteIntent } from './rows.js';

/** Upserts ledger entries and drops the write intents they resolve; call inside a transaction. */
export function upsertLedgerRows(db: SqliteDb, ledger: LedgerEntry[]): void {
  const upsert = db.prepare(
    `INSERT INTO ledger (target, resource_type, identifier, kind, record_id, resource_id, version_id, record_version,
       mapping, content_hash, synced_at)
     VALUES (@target, @resourceType, @identifier, @kind, @recordId, @resourceId, @versionId, @recordVersion,
       @mapping, @contentHash, @syncedAt)
     ON CONFLICT (target, resource_type, identifier) DO UPDATE SET kind = excluded.kind, record_id = excluded.record_id,
       resource_id = excluded.resource_id, version_id = excluded.version_id, record_version = excluded.record_version,
       mapping = excluded.mapping, content_hash = excluded.content_hash, synced_at = excluded.synced_at`
  );
  const clear = db.prepare('DELETE FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?');
  for (const l of ledger) {
    upsert.run(l);
    clear.run(l.target, l.resourceType, l.identifier);
  }
}

export class SqliteLedger implements LedgerStore {
  constructor(private readonly db: SqliteDb) {}

  async getLedgerByIdentifier(target: string, resourceType: string, identifier: string): Promise<LedgerEntry | undefined> {
    const row = this.db
      .prepare('SELECT * FROM ledger WHERE target = ? AND resource_type = ? AND identifier = ?')
      .get(target, resourceType, identifier) as LedgerRow | undefined;
    return row ? toLedger(row) : undefined;
  }

  async getLedgerByIdentifiers(target: string, keys: { resourceType: string; identifier: string }[]): Promise<LedgerEntry[]> {
    // One synchronous pass over the primary key: nothing else runs in between, so it is one consistent read.
    const stmt = this.db.prepare('SELECT * FROM ledger WHERE target = ? AND resource_type = ? AND identifier = ?');
    return keys.flatMap((k) => {
      const row = stmt.get(target, k.resourceType, k.identifier) as LedgerRow | undefined;
      return row ? [toLedger(row)] : [];
    });
  }

  async getLedgerForRecord(target: string, kind: RecordKind, recordId: string): Promise<LedgerEntry[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM ledger WHERE target = ? AND kind = ? AND record_id = ? AND resource_type <> 'Provenance'
         ORDER BY resource_type, identifier`
      )
      .all(target, kind, recordId) as LedgerRow[];
    return rows.map(toLedger);
  }

  async listLedger(target: string): Promise<LedgerEntry[]> {
    const rows = this.db.prepare('SELECT * FROM ledger WHERE target = ? ORDER BY resource_type, identifier').all(target) as LedgerRow[];
    return rows.map(toLedger);
  }

  async recordLedger(entries: LedgerEntry[]): Promise<void> {
    this.db.tx(() => upsertLedgerRows(this.db, entries));
  }

  async deleteLedger(target: string, resourceType: string, identifier: string): Promise<void> {
    this.db.prepare('DELETE FROM ledger WHERE target = ? AND resource_type = ? AND identifier = ?').run(target, resourceType, identifier);
  }

  async putWriteIntent(i: WriteIntent): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO write_intent (target, resource_type, identifier, kind, record_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, resource_type, identifier) DO NOTHING`
      )
      .run(i.target, i.resourceType, i.identifier, i.kind, i.recordId, i.createdAt);
  }

  async getWriteIntent(target: string, resourceType: string, identifier: string): Promise<WriteIntent | undefined> {
    const row = this.db
      .prepare('SELECT * FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?')
      .get(target, resourceType, identifier) as WriteIntentRow | undefined;
    return row ? toWriteIntent(row) : undefined;
  }

  async clearWriteIntent(target: string, resourceType: string, identifier: string): Promise<void> {
    this.db.prepare('DELETE FROM write_intent WHERE target = ? AND resource_type = ? AND identifier = ?').run(target, resourceType, identifier);
  }
}
