/**
 * The store on PostgreSQL (`pg`), for several instances sharing one database: the store's slices over
 * one connection pool (db.ts), the schema's migrations applied at open, and the LISTEN connection that
 * wakes this instance's worker when another instance commits work (listener.ts). Chosen by
 * DATABASE_URL (src/store/open-store.ts); see docs/postgres.md.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../port.js';
import { PgAccessAudit } from './access-audit.js';
import { PgAudit } from './audit.js';
import { PgDb, type PgDbOptions } from './db.js';
import { PgImportJobs } from './import-jobs.js';
import { PgLedger } from './ledger.js';
import { WorkListener } from './listener.js';
import { PG_STORE_MIGRATIONS } from './migrations.js';
import { PgOutbox } from './outbox.js';
import { PgRecords } from './records.js';
import { PgStatusWithQueries } from './record-queries.js';
import { foldCounters } from './status.js';

export interface PostgresStoreOptions extends PgDbOptions {
  /**
   * This instance's stable name (INSTANCE_ID; by default the host name and data folder): its leases and
   * import jobs carry it, and its restart takes back only its own leases and fails only its own
   * interrupted jobs. Random when absent (tests).
   */
  instanceId?: string;
  /** How often the status counters' deltas are folded even when nobody reads them (ms). */
  foldIntervalMs?: number;
}

export class PostgresStore implements Store {
  readonly db: PgDb;
  readonly records: PgRecords;
  readonly outbox: PgOutbox;
  readonly ledger: PgLedger;
  readonly audit: PgAudit;
  readonly status: PgStatusWithQueries;
  readonly importJobs: PgImportJobs;
  readonly accessAudit: PgAccessAudit;
  readonly listener: WorkListener;
  private readonly fold: NodeJS.Timeout;

  private constructor(options: PostgresStoreOptions) {
    this.db = new PgDb(options);
    this.listener = new WorkListener(this.db);
    this.records = new PgRecords(this.db);
    const instanceId = options.instanceId ?? randomUUID();
    this.outbox = new PgOutbox(this.db, this.listener, instanceId);
    this.ledger = new PgLedger(this.db);
    this.audit = new PgAudit(this.db);
    this.status = new PgStatusWithQueries(this.db, PG_STORE_MIGRATIONS.map((m) => m.id));
    this.importJobs = new PgImportJobs(this.db, instanceId);
    this.accessAudit = new PgAccessAudit(this.db);
    this.fold = setInterval(() => void foldCounters(this.db).catch(() => {}), options.foldIntervalMs ?? 10_000);
    this.fold.unref();
  }

  /** Connects, applies the migrations not yet applied, and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.db.migrate(PG_STORE_MIGRATIONS);
      await store.outbox.releaseOwnLeases();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    clearInterval(this.fold);
    await this.outbox.releaseOwnLeases().catch(() => 0);
    await this.listener.close();
    await this.db.close();
  }
}
