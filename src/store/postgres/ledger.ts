/** The ledger slice on PostgreSQL: what this service wrote on each target, and write-ahead intents. */
import type { RecordKind } from '../../domain/records.js';
import type { LedgerStore } from '../port.js';
import type { LedgerEntry, WriteIntent } from '../types.js';
import { type LedgerRow, type WriteIntentRow, toLedger, toWriteIntent } from '../sqlite/rows.js';
import type { PgDb, Queryable } from './db.js';

/** Upserts ledger entries and drops the write intents they resolve; call inside a transaction. */
export async function upsertLedgerRows(c: Queryable, ledger: LedgerEntry[]): Promise<void> {
  for (const l of ledger) {
    await c.query(
      `INSERT INTO ledger (target, resource_type, identifier, kind, record_id, resource_id, version_id, record_version,
         mapping, content_hash, synced_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (target, resource_type, identifier) DO UPDATE SET kind = excluded.kind, record_id = excluded.record_id,
         resource_id = excluded.resource_id, version_id = excluded.version_id, record_version = excluded.record_version,
         mapping = excluded.mapping, content_hash = excluded.content_hash, synced_at = excluded.synced_at`,
      [l.target, l.resourceType, l.identifier, l.kind, l.recordId, l.resourceId, l.versionId, l.recordVersion, l.mapping, l.contentHash, l.syncedAt]
    );
    await c.query('DELETE FROM write_intent WHERE target = $1 AND resource_type = $2 AND identifier = $3', [l.target, l.resourceType, l.identifier]);
  }
}

export class PgLedger implements LedgerStore {
  constructor(private readonly db: PgDb) {}

  async getLedgerByIdentifier(target: string, resourceType: string, identifier: string): Promise<LedgerEntry | undefined> {
    const r = await this.db.query<LedgerRow>('SELECT * FROM ledger WHERE target = $1 AND resource_type = $2 AND identifier = $3', [
      target,
      resourceType,
      identifier,
    ]);
    return r.rows[0] ? toLedger(r.rows[0]) : undefined;
  }

  async getLedgerByIdentifiers(target: string, keys: { resourceType: string; identifier: string }[]): Promise<LedgerEntry[]> {
    if (keys.length === 0) {
      return [];
    }
    // One round trip: the pairs as two arrays, joined on the primary key.
    const r = await this.db.query<LedgerRow>(
      `SELECT l.* FROM ledger l
       JOIN unnest($2::text[], $3::text[]) AS k(resource_type, identifier)
         ON l.resource_type = k.resource_type AND l.identifier = k.identifier
       WHERE l.target = $1`,
      [target, keys.map((k) => k.resourceType), keys.map((k) => k.identifier)]
    );
    return r.rows.map(toLedger);
  }

  async getLedgerForRecord(target: string, kind: RecordKind, recordId: string): Promise<LedgerEntry[]> {
    const r = await this.db.query<LedgerRow>(
      `SELECT * FROM ledger WHERE target = $1 AND kind = $2 AND record_id = $3 AND resource_type <> 'Provenance'
       ORDER BY resource_type, identifier`,
      [target, kind, recordId]
    );
    return r.rows.map(toLedger);
  }

  async listLedger(target: string): Promise<LedgerEntry[]> {
    const r = await this.db.query<LedgerRow>('SELECT * FROM ledger WHERE target = $1 ORDER BY resource_type, identifier', [target]);
    return r.rows.map(toLedger);
  }

  async recordLedger(entries: LedgerEntry[]): Promise<void> {
    await this.db.tx((c) => upsertLedgerRows(c, entries));
  }

  async deleteLedger(target: string, resourceType: string, identifier: string): Promise<void> {
    await this.db.query('DELETE FROM ledger WHERE target = $1 AND resource_type = $2 AND identifier = $3', [target, resourceType, identifier]);
  }

  async putWriteIntent(i: WriteIntent): Promise<void> {
    await this.db.query(
      `INSERT INTO write_intent (target, resource_type, identifier, kind, record_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (target, resource_type, identifier) DO NOTHING`,
      [i.target, i.resourceType, i.identifier, i.kind, i.recordId, i.createdAt]
    );
  }

  async getWriteIntent(target: string, resourceType: string, identifier: string): Promise<WriteIntent | undefined> {
    const r = await this.db.query<WriteIntentRow>('SELECT * FROM write_intent WHERE target = $1 AND resource_type = $2 AND identifier = $3', [
      target,
      resourceType,
      identifier,
    ]);
    return r.rows[0] ? toWriteIntent(r.rows[0]) : undefined;
  }

  async clearWriteIntent(target: string, resourceType: string, identifier: string): Promise<void> {
    await this.db.query('DELETE FROM write_intent WHERE target = $1 AND resource_type = $2 AND identifier = $3', [target, resourceType, identifier]);
  }
}
