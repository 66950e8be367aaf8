/**
 * The access-audit slice on PostgreSQL (migration 0002-access-audit), the same pages as SQLite's
 * (../sqlite/access-audit.ts): ordered by (recorded_ms, seq), continued by a cursor holding the last
 * pair, so every query is an index range by time, by user or by client.
 */
import type { AccessAuditEntry, AccessAuditPage, AccessAuditQuery, AccessAuditStore } from '../port.js';
import { type AccessAuditRow, decodeAccessCursor, encodeAccessCursor, END_OF_TIME, toAccessEntry } from '../job-audit-rows.js';
import type { PgDb } from './db.js';

export class PgAccessAudit implements AccessAuditStore {
  constructor(private readonly db: PgDb) {}

  async appendAccess(entries: AccessAuditEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    await this.db.tx(async (c) => {
      for (const e of entries) {
        const recordedMs = Date.parse(e.recorded);
        const { rows } = await c.query<{ seq: number }>(
          `INSERT INTO access_audit (id, recorded_ms, who, action, route, status, event) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
          [e.id, recordedMs, e.who, e.action, e.route, e.status, JSON.stringify(e.event)]
        );
        const mrns = [...new Set(e.clientMrns)];
        if (mrns.length > 0) {
          await c.query(
            `INSERT INTO access_audit_client (client_mrn, recorded_ms, seq) SELECT m, $2, $3 FROM unnest($1::text[]) AS m ON CONFLICT DO NOTHING`,
            [mrns, recordedMs, rows[0].seq]
          );
        }
      }
    });
  }

  async listAccess(q: AccessAuditQuery): Promise<AccessAuditPage> {
    const after = q.cursor ? decodeAccessCursor(q.cursor) : undefined;
    if (q.cursor && !after) {
      return { entries: [] };
    }
    const afterMs = after ? after[0] : (q.since?.getTime() ?? 0);
    const afterSeq = after ? after[1] : -1;
    const until = q.until?.getTime() ?? END_OF_TIME;
    const limit = q.limit + 1;
    let rows: AccessAuditRow[];
    if (q.clientMrn !== undefined) {
      rows = (
        await this.db.query<AccessAuditRow>(
          `SELECT a.* FROM access_audit_client c JOIN access_audit a ON a.seq = c.seq
            WHERE c.client_mrn = $1 AND (c.recorded_ms, c.seq) > ($2, $3) AND c.recorded_ms < $4
              AND ($5::text IS NULL OR a.who = $5)
            ORDER BY c.recorded_ms, c.seq LIMIT $6`,
          [q.clientMrn, afterMs, afterSeq, until, q.who ?? null, limit]
        )
      ).rows;
    } else if (q.who !== undefined) {
      rows = (
        await this.db.query<AccessAuditRow>(
          `SELECT * FROM access_audit WHERE who = $1 AND (recorded_ms, seq) > ($2, $3) AND recorded_ms < $4
            ORDER BY recorded_ms, seq LIMIT $5`,
          [q.who, afterMs, afterSeq, until, limit]
        )
      ).rows;
    } else {
      rows = (
        await this.db.query<AccessAuditRow>(
          `SELECT * FROM access_audit WHERE (recorded_ms, seq) > ($1, $2) AND recorded_ms < $3 ORDER BY recorded_ms, seq LIMIT $4`,
          [afterMs, afterSeq, until, limit]
        )
      ).rows;
    }
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    return { entries: page.map(toAccessEntry), ...(more && last ? { nextCursor: encodeAccessCursor(last.recorded_ms, last.seq) } : {}) };
  }

  async purgeAccessBefore(before: Date, limit: number): Promise<number> {
    const ms = before.getTime();
    return this.db.tx(async (c) => {
      await c.query(
        `DELETE FROM access_audit_client WHERE (client_mrn, recorded_ms, seq) IN
           (SELECT client_mrn, recorded_ms, seq FROM access_audit_client WHERE recorded_ms < $1 ORDER BY recorded_ms LIMIT $2)`,
        [ms, limit]
      );
      const r = await c.query('DELETE FROM access_audit WHERE seq IN (SELECT seq FROM access_audit WHERE recorded_ms < $1 ORDER BY recorded_ms, seq LIMIT $2)', [
        ms,
        limit,
      ]);
      return r.rowCount ?? 0;
    });
  }
}
