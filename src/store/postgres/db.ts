/**
 * The PostgreSQL store's database: a `pg` connection pool, one transaction helper shared by every slice
 * (READ COMMITTED; retried on a deadlock or serialization failure, which PostgreSQL resolves by aborting
 * one of the transactions), versioned migrations applied at start under an advisory lock (instances
 * starting together apply each migration once), and the channel on which instances tell each other that
 * work may be due (LISTEN/NOTIFY).
 *
 * Durability: PostgreSQL's defaults (fsync=on, synchronous_commit=on) make a COMMIT durable before it
 * returns, so nothing acknowledged is lost when an instance or the database restarts.
 */
import pg from 'pg';

/** A schema change, applied once, in list order, identified by a stable name. */
export interface PgMigration {
  id: string;
  sql: string;
}

/** The subset of a pg client the slices use (a pool client inside a transaction). */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Errors after which a transaction is simply run again: deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_TX_ATTEMPTS = 8;

/** A deadlock or serialization failure: the transaction can simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code !== undefined && RETRYABLE.has(code);
}

/** bigint (int8) columns hold epoch milliseconds and sequence numbers: safe JavaScript integers. */
const INT8 = 20;
const JSONB = 3802;
const typeParsers = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8) {
      return (v: string) => Number(v);
    }
    if (oid === JSONB) {
      // Read JSON as its text: the row converters parse it (and they are shared with the SQLite store).
      return (v: string) => v;
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

export interface PgDbOptions {
  /** postgres://user:password@host:port/database */
  connectionString: string;
  /**
   * A schema to keep the store's tables in (created if missing); `public` by default. Tests give each
   * store its own schema in one database.
   */
  schema?: string;
  /** Most connections this instance opens (besides the one that listens). */
  maxConnections?: number;
  /** Sees every statement the store runs, with its parameters (the query-plan test explains them). */
  observe?: (sql: string, params: unknown[]) => void;
}

export class PgDb {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The NOTIFY channel of this store (one per schema, so test stores do not wake each other). */
  readonly channel: string;

  constructor(readonly options: PgDbOptions) {
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) {
      throw new Error('the PostgreSQL schema name must be lower-case letters, digits and _');
    }
    this.channel = `collateral_work_${this.schema}`;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types: typeParsers,
      // Every connection works in the store's schema.
      options: `-c search_path=${this.schema}`,
    });
    // An idle connection the server dropped (database restart) is replaced on the next checkout; the
    // error must not crash the process.
    this.pool.on('error', () => {});
  }

  /** One statement outside a transaction (its own autocommit). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.options.observe?.(sql, params);
    return this.pool.query<R>(sql, params);
  }

  /**
   * Runs fn in one transaction: everything or nothing is committed. Deadlocks and serialization failures
   * roll back and run fn again (fn must not have effects outside the transaction).
   */
  async tx<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const observe = this.options.observe;
      const c: Queryable = observe
        ? {
            query: ((sql: string, params: unknown[] = []) => {
              observe(sql, params);
              return client.query(sql, params);
            }) as pg.PoolClient['query'],
          }
        : client;
      try {
        await client.query('BEGIN');
        const result = await fn(c);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
        if (!isRetryable(err) || attempt >= MAX_TX_ATTEMPTS) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20 * attempt)));
      }
    }
  }

  /**
   * Creates the schema and applies the migrations not yet applied, in one transaction (all or none),
   * recorded by name in `schema_migrations`. An advisory lock serializes instances starting together.
   */
  async migrate(migrations: PgMigration[]): Promise<void> {
    await this.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`).catch(async (err: unknown) => {
      // Two instances creating the schema at once: the loser sees a unique violation; the schema exists.
      if ((err as { code?: string }).code !== '23505') {
        throw err;
      }
    });
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`collateral-migrate:${this.schema}`]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const applied = new Set((await c.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      for (const m of migrations) {
        if (!applied.has(m.id)) {
          await c.query(m.sql);
          await c.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        }
      }
    });
  }

  /** Names of the applied migrations, in the order applied. */
  async appliedMigrations(): Promise<string[]> {
    return (await this.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY applied_at, id')).rows.map((r) => r.id);
  }

  /** Queues a "work may be due on this target" signal, delivered to every listening instance at commit. */
  async notifyWork(c: Queryable, target: string): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.channel, target]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
