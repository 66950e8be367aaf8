/**
 * The console's read queries on SQLite (store/record-queries.ts), added to the status slice by
 * subclassing it, and the indexes that serve them (RECORD_QUERY_MIGRATIONS).
 *
 * Each listing filter becomes its own SQL text (no `@x IS NULL OR ...` patterns, which keep SQLite
 * from using an index), ordered by the state's last change and rowid, so every page is an index range
 * read: newest first, continued from a keyset cursor, never an OFFSET.
 */
import { inputInvalid, OperationOutcomeError } from '../../outcomes.js';
import type { RecordKind } from '../../domain/records.js';
import type { RecordQueries, RecordStateFilter, RecordStatePage, RecordStateRow, StoreProbe, ThroughputBucket } from '../record-queries.js';
import type { SyncStateName } from '../types.js';
import type { Migration, SqliteDb } from './db.js';
import { SqliteStatus } from './status.js';

/**
 * Indexes for the records listing (by state, reason, kind, or none, each then by time) and the
 * throughput figures (audit by category and time). Named migrations: applied once, after the store's own.
 */
export const RECORD_QUERY_MIGRATIONS: Migration[] = [
  {
    id: '0007-console-record-state-indexes',
    sql: `
  CREATE INDEX sync_state_changed ON sync_state (updated_at);
  CREATE INDEX sync_state_state_changed ON sync_state (state, updated_at);
  CREATE INDEX sync_state_reason_changed ON sync_state (reason_code, updated_at);
  CREATE INDEX sync_state_kind_changed ON sync_state (kind, updated_at);
  -- Partial: only the throughput's own query (its literal categories) can use it, so it never takes
  -- over the store's audit lookups by client (audit_client) that also filter on a category.
  CREATE INDEX audit_category_recorded ON audit (category, recorded) WHERE category IN ('disclosure', 'write-attempt');
  `,
  },
];

/** A listing row as both stores' queries select it (the PostgreSQL store maps its rows with toRecordStateRow too). */
export interface RecordStateSqlRow {
  kind: string;
  record_id: string;
  target: string;
  state: string;
  reason: string | null;
  reason_code: string | null;
  attempts: number;
  next_attempt_at: string | null;
  updated_at: string;
  client_mrn: string | null;
  version: number;
  record_updated_at: string;
}

interface Row extends RecordStateSqlRow {
  rid: number;
}

export class SqliteStatusWithQueries extends SqliteStatus implements RecordQueries {
  /**
   * @param expectedMigrations - every migration this code applies at open, for the readiness probe.
   */
  constructor(
    private readonly conn: SqliteDb,
    private readonly expectedMigrations: readonly string[]
  ) {
    super(conn);
  }

  async listRecordStates(filter: RecordStateFilter, limit: number, cursor?: string): Promise<RecordStatePage> {
    const { sql, params } = listingQuery(filter, limit, cursor);
    const rows = this.conn.prepare(sql).all(params) as Row[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      rows: page.map(toRecordStateRow),
      ...(rows.length > limit && last ? { next: encodeCursor(last.updated_at, last.rid) } : {}),
    };
  }

  async syncThroughput(since: Date, bucketMs: number, now = new Date()): Promise<ThroughputBucket[]> {
    const bucketS = Math.max(1, Math.round(bucketMs / 1000));
    const startS = Math.floor(since.getTime() / 1000 / bucketS) * bucketS;
    const counts = this.conn
      .prepare(
        `SELECT category, CAST((CAST(strftime('%s', recorded) AS INTEGER) - @start) / @bucket AS INTEGER) AS b, COUNT(*) AS n
         FROM audit WHERE category IN ('disclosure', 'write-attempt') AND recorded >= @since
         GROUP BY category, b`
      )
      .all({ start: startS, bucket: bucketS, since: new Date(startS * 1000).toISOString() }) as { category: string; b: number; n: number }[];
    const buckets: ThroughputBucket[] = [];
    for (let t = startS; t * 1000 <= now.getTime(); t += bucketS) {
      buckets.push({ start: new Date(t * 1000).toISOString(), synced: 0, failed: 0 });
    }
    for (const c of counts) {
      const bucket = buckets[c.b];
      if (bucket) {
        bucket[c.category === 'disclosure' ? 'synced' : 'failed'] += c.n;
      }
    }
    return buckets;
  }

  async probe(): Promise<StoreProbe> {
    try {
      this.conn.prepare('SELECT 1').get();
      const applied = new Set(this.conn.appliedMigrations());
      return { reachable: true, migrationsPending: this.expectedMigrations.filter((m) => !applied.has(m)) };
    } catch {
      return { reachable: false, migrationsPending: [] };
    }
  }
}

/**
 * The SQL of one listing page and its parameters: only the filters given become conditions, so the
 * planner sees exactly what it can use an index for (bench/console-queries.ts shows the plans).
 */
export function listingQuery(filter: RecordStateFilter, limit: number, cursor?: string): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: limit + 1 };
  const eq = (column: string, name: string, value: string | undefined): void => {
    if (value !== undefined) {
      where.push(`${column} = @${name}`);
      params[name] = value;
    }
  };
  eq('s.kind', 'kind', filter.kind);
  eq('s.record_id', 'recordId', filter.recordId);
  eq('s.state', 'state', filter.state);
  eq('s.reason_code', 'reason', filter.reasonCode);
  eq('s.target', 'target', filter.target);
  eq('r.client_mrn', 'mrn', filter.clientMrn);
  if (filter.since !== undefined) {
    where.push('s.updated_at >= @since');
    params.since = filter.since;
  }
  if (filter.until !== undefined) {
    where.push('s.updated_at < @until');
    params.until = filter.until;
  }
  if (cursor !== undefined) {
    const [at, rid] = decodeCursor(cursor);
    where.push('(s.updated_at < @cAt OR (s.updated_at = @cAt AND s.rowid < @cRid))');
    params.cAt = at;
    params.cRid = rid;
  }
  // With a client, the client's few records come by records_client and are sorted; otherwise the
  // state/reason/kind/time index gives rows in order.
  const sql = `SELECT s.rowid AS rid, s.kind, s.record_id, s.target, s.state, s.reason, s.reason_code, s.attempts,
                      s.next_attempt_at, s.updated_at, r.client_mrn, r.version, r.updated_at AS record_updated_at
               FROM sync_state s JOIN records r ON r.kind = s.kind AND r.id = s.record_id
               ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
               ORDER BY s.updated_at DESC, s.rowid DESC LIMIT @limit`;
  return { sql, params };
}

/** A listing row in the port's terms. */
export function toRecordStateRow(r: RecordStateSqlRow): RecordStateRow {
  return {
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    target: r.target,
    state: r.state as SyncStateName,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.reason_code ? { reasonCode: r.reason_code } : {}),
    attempts: r.attempts,
    ...(r.next_attempt_at ? { nextAttemptAt: r.next_attempt_at } : {}),
    updatedAt: r.updated_at,
    clientMrn: r.client_mrn,
    recordVersion: r.version,
    recordUpdatedAt: r.record_updated_at,
  };
}

function encodeCursor(at: string, rid: number): string {
  return Buffer.from(JSON.stringify([at, rid])).toString('base64url');
}

function decodeCursor(cursor: string): [string, number] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && Number.isInteger(v[1])) {
      return [v[0], v[1] as number];
    }
  } catch {
    // falls through to the error below
  }
  throw new OperationOutcomeError(inputInvalid([{ path: 'cursor', message: 'is not a cursor this service gave (pass back the "next" of the previous page)' }]));
}
