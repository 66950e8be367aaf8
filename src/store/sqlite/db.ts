/**
 * The embedded store's database: one better-sqlite3 connection in WAL mode with synchronous=FULL (a
 * commit is on disk before we acknowledge it, so nothing accepted is lost on restart or kill -9), a
 * cache of prepared statements, one transaction helper shared by every slice of the store, and named
 * migrations.
 */
import Database from 'better-sqlite3';

/** A schema change, applied once, in list order, identified by a stable name. */
export interface Migration {
  id: string;
  sql: string;
}

/** Opens (creating if needed) a SQLite database file with the durability settings we rely on. */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

export class SqliteDb {
  readonly raw: Database.Database;
  /** Prepared statements by SQL text: preparing costs more than running them (measured in the sync). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.raw = openDatabase(path);
  }

  /** Prepares (once) and returns the statement for `sql`; every statement of the store goes through here. */
  prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * The SQL of every statement prepared so far, read-only (the query-plan test explains each one).
   */
  preparedSql(): readonly string[] {
    return [...this.statements.keys()];
  }

  /** Runs fn in one transaction (a savepoint when nested): everything or nothing is committed. */
  tx<T>(fn: () => T): T {
    return this.raw.transaction(fn)();
  }

  /**
   * Applies the migrations not yet applied, each in its own transaction, recorded by name in
   * `schema_migrations`. Named (not numbered) so that features can add their own without renumbering.
   * @param legacy - names of the migrations a database at `PRAGMA user_version` N already has (the
   *   first N), from before migrations were named.
   */
  migrate(migrations: Migration[], legacy: string[] = []): void {
    this.raw.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    const version = this.raw.pragma('user_version', { simple: true }) as number;
    const record = this.raw.prepare('INSERT OR IGNORE INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    if (version > 0) {
      this.tx(() => {
        legacy.slice(0, version).forEach((id) => record.run(id, new Date().toISOString()));
        this.raw.pragma('user_version = 0');
      });
    }
    const applied = new Set((this.raw.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id));
    for (const m of migrations) {
      if (!applied.has(m.id)) {
        this.tx(() => {
          this.raw.exec(m.sql);
          record.run(m.id, new Date().toISOString());
        });
      }
    }
  }

  /** Names of the applied migrations, in the order applied. */
  appliedMigrations(): string[] {
    return (this.raw.prepare('SELECT id FROM schema_migrations ORDER BY rowid').all() as { id: string }[]).map((r) => r.id);
  }

  close(): void {
    if (this.raw.open) {
      this.raw.close();
    }
  }
}
