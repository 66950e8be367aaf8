/**
 * The embedded durable store on SQLite (better-sqlite3): the store's slices over one database
 * (db.ts: WAL, synchronous=FULL, one transaction helper). better-sqlite3 is synchronous; the async
 * ports are kept for the PostgreSQL implementation.
 */
import type { CommitSync } from './commit-sync.js';
import type { Store } from '../port.js';
import { SqliteAccessAudit } from './access-audit.js';
import { SqliteAudit } from './audit.js';
import { SqliteDb } from './db.js';
import { SqliteImportJobs } from './import-jobs.js';
import { SqliteLedger } from './ledger.js';
import { LEGACY_MIGRATION_ORDER, STORE_MIGRATIONS } from './migrations.js';
import { SqliteOutbox } from './outbox.js';
import { SqliteRecords } from './records.js';
import { RECORD_QUERY_MIGRATIONS, SqliteStatusWithQueries } from './record-queries.js';

export { openDatabase } from './db.js';

export class SqliteStore implements Store {
  readonly db: SqliteDb;
  readonly records: SqliteRecords;
  readonly outbox: SqliteOutbox;
  readonly ledger: SqliteLedger;
  readonly audit: SqliteAudit;
  readonly status: SqliteStatusWithQueries;
  readonly importJobs: SqliteImportJobs;
  readonly accessAudit: SqliteAccessAudit;

  /**
   * The real store on an in-memory database (better-sqlite3 `:memory:`): the same schema, SQL and
   * transactions, gone with the connection. For tests that need some store, not durability (test/helpers/
   * fakes.ts); never the service's store. WAL, fsync and the WAL sync of `wal-fdatasync` do not apply.
   */
  static inMemory(commitSync: CommitSync = 'full'): SqliteStore {
    return new SqliteStore(':memory:', commitSync);
  }

  /**
   * @param path - the database file, or `:memory:` (see inMemory()).
   * @param commitSync - how intake group commits are made durable (STORE_COMMIT_SYNC; commit-sync.ts).
   */
  constructor(path: string, commitSync: CommitSync = 'full') {
    this.db = new SqliteDb(path);
    const migrations = [...STORE_MIGRATIONS, ...RECORD_QUERY_MIGRATIONS];
    this.db.migrate(migrations, LEGACY_MIGRATION_ORDER);
    this.records = new SqliteRecords(this.db, commitSync);
    this.outbox = new SqliteOutbox(this.db);
    this.ledger = new SqliteLedger(this.db);
    this.audit = new SqliteAudit(this.db);
    // The status queries with the console's listing (record-queries.ts), in a file of its own.
    this.status = new SqliteStatusWithQueries(this.db, migrations.map((m) => m.id));
    this.importJobs = new SqliteImportJobs(this.db);
    this.accessAudit = new SqliteAccessAudit(this.db);
    this.outbox.releaseAllLeases();
  }

  async close(): Promise<void> {
    this.records.close();
    this.db.close();
  }
}
