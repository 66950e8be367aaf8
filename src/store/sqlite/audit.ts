/** The audit slice on SQLite: the local AuditEvents (accounting of disclosures, write attempts). */
import type { AuditStore } from '../port.js';
import type { AuditEntry, AuditFilter } from '../types.js';
import type { SqliteDb } from './db.js';
import { type AuditRow, toAudit } from './rows.js';

/** Inserts audit entries; call inside a transaction (they commit with the delivery they describe). */
export function insertAuditRows(db: SqliteDb, entries: AuditEntry[]): void {
  const insert = db.prepare(
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

export class SqliteAudit implements AuditStore {
  constructor(private readonly db: SqliteDb) {}

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    this.db.tx(() => insertAuditRows(this.db, entries));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    // Only the given fields become conditions, so the client and record indexes apply.
    const where: string[] = [];
    const params: Record<string, string> = {};
    const add = (column: string, name: string, value: string | undefined): void => {
      if (value !== undefined) {
        where.push(`${column} = @${name}`);
        params[name] = value;
      }
    };
    add('client_mrn', 'mrn', filter.clientMrn);
    add('kind', 'kind', filter.kind);
    add('record_id', 'recordId', filter.recordId);
    add('category', 'category', filter.category);
    const rows = this.db
      .prepare(`SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recorded, rowid`)
      .all(params) as AuditRow[];
    return rows.map(toAudit);
  }
}
