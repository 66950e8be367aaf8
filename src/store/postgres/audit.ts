/** The audit slice on PostgreSQL: the local AuditEvents (accounting of disclosures, write attempts). */
import type { AuditStore } from '../port.js';
import type { AuditEntry, AuditFilter } from '../types.js';
import { type AuditRow, toAudit } from '../sqlite/rows.js';
import type { PgDb, Queryable } from './db.js';

/** Inserts audit entries in one statement; call inside a transaction (they commit with the delivery they describe). */
export async function insertAuditRows(c: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) {
    return;
  }
  await c.query(
    `INSERT INTO audit (id, recorded, client_mrn, kind, record_id, target, category, outcome, event)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[])`,
    [
      entries.map((e) => e.id),
      entries.map((e) => e.recorded),
      entries.map((e) => e.clientMrn),
      entries.map((e) => e.kind ?? null),
      entries.map((e) => e.recordId ?? null),
      entries.map((e) => e.target ?? null),
      entries.map((e) => e.category),
      entries.map((e) => e.outcome),
      entries.map((e) => JSON.stringify(e.event)),
    ]
  );
}

export class PgAudit implements AuditStore {
  constructor(private readonly db: PgDb) {}

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    await this.db.tx((c) => insertAuditRows(c, entries));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    // Only the given fields become conditions, so the client and record indexes apply.
    const where: string[] = [];
    const params: string[] = [];
    const add = (column: string, value: string | undefined): void => {
      if (value !== undefined) {
        params.push(value);
        where.push(`${column} = $${params.length}`);
      }
    };
    add('client_mrn', filter.clientMrn);
    add('kind', filter.kind);
    add('record_id', filter.recordId);
    add('category', filter.category);
    const rows = await this.db.query<AuditRow>(
      `SELECT id, recorded, client_mrn, kind, record_id, target, category, outcome, event FROM audit
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recorded, seq`,
      params
    );
    return rows.rows.map(toAudit);
  }
}
