/**
 * The access-audit slice on SQLite (migration `access-audit`). Pages are ordered by (recorded_ms, seq)
 * and continued by a cursor holding the last pair, so every query is an index range: by time
 * (access_audit_time), by user (access_audit_who) or by client (access_audit_client's primary key).
 * test/security/access-audit-store.test.ts checks the query plans.
 */
import type { AccessAuditEntry, AccessAuditPage, AccessAuditQuery, AccessAuditStore } from '../port.js';
import { type AccessAuditRow, decodeAccessCursor, encodeAccessCursor, END_OF_TIME, toAccessEntry } from '../job-audit-rows.js';
import type { SqliteDb } from './db.js';

export class SqliteAccessAudit implements AccessAuditStore {
  constructor(private readonly db: SqliteDb) {}

  async appendAccess(entries: AccessAuditEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    const insert = this.db.prepare(
      `INSERT INTO access_audit (id, recorded_ms, who, action, route, status, event)
       VALUES (@id, @recordedMs, @who, @action, @route, @status, @event)`
    );
    const client = this.db.prepare('INSERT OR IGNORE INTO access_audit_client (client_mrn, recorded_ms, seq) VALUES (?, ?, ?)');
    this.db.tx(() => {
      for (const e of entries) {
        const recordedMs = Date.parse(e.recorded);
        const { lastInsertRowid } = insert.run({
          id: e.id,
          recordedMs,
          who: e.who,
          action: e.action,
          route: e.route,
          status: e.status,
          event: JSON.stringify(e.event),
        });
        for (const mrn of new Set(e.clientMrns)) {
          client.run(mrn, recordedMs, Number(lastInsertRowid));
        }
      }
    });
  }

  async listAccess(q: AccessAuditQuery): Promise<AccessAuditPage> {
    const after = q.cursor ? decodeAccessCursor(q.cursor) : undefined;
    if (q.cursor && !after) {
      return { entries: [] };
    }
    const params = {
      afterMs: after ? after[0] : (q.since?.getTime() ?? 0),
      afterSeq: after ? after[1] : -1,
      until: q.until?.getTime() ?? END_OF_TIME,
      who: q.who ?? null,
      client: q.clientMrn ?? null,
      limit: q.limit + 1,
    };
    let rows: AccessAuditRow[];
    if (q.clientMrn !== undefined) {
      rows = this.db
        .prepare(
          `SELECT a.* FROM access_audit_client c JOIN access_audit a ON a.seq = c.seq
            WHERE c.client_mrn = @client AND (c.recorded_ms, c.seq) > (@afterMs, @afterSeq) AND c.recorded_ms < @until
              AND (@who IS NULL OR a.who = @who)
            ORDER BY c.recorded_ms, c.seq LIMIT @limit`
        )
        .all(params) as AccessAuditRow[];
    } else if (q.who !== undefined) {
      rows = this.db
        .prepare(
          `SELECT * FROM access_audit
            WHERE who = @who AND (recorded_ms, seq) > (@afterMs, @afterSeq) AND recorded_ms < @until
            ORDER BY recorded_ms, seq LIMIT @limit`
        )
        .all(params) as AccessAuditRow[];
    } else {
      rows = this.db
        .prepare(
          `SELECT * FROM access_audit
            WHERE (recorded_ms, seq) > (@afterMs, @afterSeq) AND recorded_ms < @until
            ORDER BY recorded_ms, seq LIMIT @limit`
        )
        .all(params) as AccessAuditRow[];
    }
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const entries = page.map((r) => toAccessEntry(r));
    const last = page[page.length - 1];
    return { entries, ...(more && last ? { nextCursor: encodeAccessCursor(last.recorded_ms, last.seq) } : {}) };
  }

  async purgeAccessBefore(before: Date, limit: number): Promise<number> {
    const ms = before.getTime();
    return this.db.tx(() => {
      this.db
        .prepare(
          `DELETE FROM access_audit_client WHERE (client_mrn, recorded_ms, seq) IN
             (SELECT client_mrn, recorded_ms, seq FROM access_audit_client WHERE recorded_ms < ? ORDER BY recorded_ms LIMIT ?)`
        )
        .run(ms, limit);
      return this.db
        .prepare('DELETE FROM access_audit WHERE seq IN (SELECT seq FROM access_audit WHERE recorded_ms < ? ORDER BY recorded_ms, seq LIMIT ?)')
        .run(ms, limit).changes;
    });
  }
}
