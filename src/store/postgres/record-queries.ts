/**
 * The console's read queries on PostgreSQL (store/record-queries.ts), added to the status slice by
 * subclassing it, as the SQLite store does (sqlite/record-queries.ts). Pages are keyset reads in index
 * order (the state's last change, then the row's key), never an OFFSET; the indexes are the migration
 * 0003-console-record-state-indexes.
 */
import { inputInvalid, OperationOutcomeError } from '../../outcomes.js';
import type { RecordQueries, RecordStateFilter, RecordStatePage, StoreProbe, ThroughputBucket } from '../record-queries.js';
import type { PgDb } from './db.js';
import { type RecordStateSqlRow, toRecordStateRow } from '../sqlite/record-queries.js';
import { PgStatus } from './status.js';

type Row = RecordStateSqlRow;

/** Where a page ended: the last row's change time and key. */
type Cursor = [at: string, kind: string, recordId: string, target: string];

export class PgStatusWithQueries extends PgStatus implements RecordQueries {
  /** @param expectedMigrations - every migration this code applies at open, for the readiness probe. */
  constructor(
    private readonly conn: PgDb,
    private readonly expectedMigrations: readonly string[]
  ) {
    super(conn);
  }

  async listRecordStates(filter: RecordStateFilter, limit: number, cursor?: string): Promise<RecordStatePage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const eq = (column: string, value: string | undefined): void => {
      if (value !== undefined) {
        params.push(value);
        where.push(`${column} = $${params.length}`);
      }
    };
    eq('s.kind', filter.kind);
    eq('s.record_id', filter.recordId);
    eq('s.state', filter.state);
    eq('s.reason_code', filter.reasonCode);
    eq('s.target', filter.target);
    eq('r.client_mrn', filter.clientMrn);
    if (filter.since !== undefined) {
      params.push(filter.since);
      where.push(`s.updated_at >= $${params.length}`);
    }
    if (filter.until !== undefined) {
      params.push(filter.until);
      where.push(`s.updated_at < $${params.length}`);
    }
    if (cursor !== undefined) {
      const c = decodeCursor(cursor);
      params.push(...c);
      const n = params.length;
      where.push(`(s.updated_at, s.kind, s.record_id, s.target) < ($${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
    }
    params.push(limit + 1);
    const rows = (
      await this.conn.query<Row>(
        `SELECT s.kind, s.record_id, s.target, s.state, s.reason, s.reason_code, s.attempts, s.next_attempt_at, s.updated_at,
                r.client_mrn, r.version, r.updated_at AS record_updated_at
         FROM sync_state s JOIN records r ON r.kind = s.kind AND r.id = s.record_id
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY s.updated_at DESC, s.kind DESC, s.record_id DESC, s.target DESC LIMIT $${params.length}`,
        params
      )
    ).rows;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      rows: page.map(toRecordStateRow),
      ...(rows.length > limit && last ? { next: encodeCursor([last.updated_at, last.kind, last.record_id, last.target]) } : {}),
    };
  }

  async syncThroughput(since: Date, bucketMs: number, now = new Date()): Promise<ThroughputBucket[]> {
    const bucketS = Math.max(1, Math.round(bucketMs / 1000));
    const startS = Math.floor(since.getTime() / 1000 / bucketS) * bucketS;
    const counts = (
      await this.conn.query<{ category: string; b: number; n: string }>(
        `SELECT category, FLOOR((EXTRACT(EPOCH FROM recorded::timestamptz) - $1) / $2)::int AS b, COUNT(*) AS n
         FROM audit WHERE category IN ('disclosure', 'write-attempt') AND recorded >= $3
         GROUP BY category, b`,
        [startS, bucketS, new Date(startS * 1000).toISOString()]
      )
    ).rows;
    const buckets: ThroughputBucket[] = [];
    for (let t = startS; t * 1000 <= now.getTime(); t += bucketS) {
      buckets.push({ start: new Date(t * 1000).toISOString(), synced: 0, failed: 0 });
    }
    for (const c of counts) {
      const bucket = buckets[c.b];
      if (bucket) {
        bucket[c.category === 'disclosure' ? 'synced' : 'failed'] += Number(c.n);
      }
    }
    return buckets;
  }

  async probe(): Promise<StoreProbe> {
    try {
      const applied = new Set((await this.conn.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      return { reachable: true, migrationsPending: this.expectedMigrations.filter((m) => !applied.has(m)) };
    } catch {
      return { reachable: false, migrationsPending: [] };
    }
  }
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'string')) {
      return v as Cursor;
    }
  } catch {
    // falls through to the error below
  }
  throw new OperationOutcomeError(inputInvalid([{ path: 'cursor', message: 'is not a cursor this service gave (pass back the "next" of the previous page)' }]));
}
