/**
 * Opens the SQLite file behind the embedded FHIR server and creates its schema.
 *
 * Three tables, all keyed by (resource_type, id):
 * - `resources`: the current version of every resource (a deleted one keeps a row with deleted = 1, so a
 *   read can answer 410 Gone and the next version number is known);
 * - `resource_history`: every version ever written, deletions included (content NULL);
 * - `resource_tokens`: the `identifier` search parameter's tokens, lower-cased like medplum's matcher, so
 *   an identifier search (conditional create/update, idempotent upserts) finds its candidates through an
 *   index instead of parsing every resource of the type.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** An open better-sqlite3 connection. */
export type FhirDatabase = Database.Database;

/** Bumped when the schema changes; stored in PRAGMA user_version. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  resource_type TEXT NOT NULL,
  id            TEXT NOT NULL,
  version_id    INTEGER NOT NULL,
  last_updated  TEXT NOT NULL,
  content       TEXT NOT NULL,
  deleted       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX IF NOT EXISTS resources_by_type ON resources (resource_type, deleted, last_updated);

CREATE TABLE IF NOT EXISTS resource_history (
  resource_type TEXT NOT NULL,
  id            TEXT NOT NULL,
  version_id    INTEGER NOT NULL,
  last_updated  TEXT NOT NULL,
  content       TEXT,
  deleted       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (resource_type, id, version_id),
  FOREIGN KEY (resource_type, id) REFERENCES resources (resource_type, id)
);

CREATE TABLE IF NOT EXISTS resource_tokens (
  resource_type TEXT NOT NULL,
  id            TEXT NOT NULL,
  system        TEXT NOT NULL,
  value         TEXT NOT NULL,
  FOREIGN KEY (resource_type, id) REFERENCES resources (resource_type, id)
);
CREATE INDEX IF NOT EXISTS resource_tokens_by_value ON resource_tokens (resource_type, value, system);
CREATE INDEX IF NOT EXISTS resource_tokens_by_system ON resource_tokens (resource_type, system);
CREATE INDEX IF NOT EXISTS resource_tokens_by_resource ON resource_tokens (resource_type, id);
`;

/**
 * Opens (creating if needed) the FHIR store at `path` and ensures its schema exists.
 *
 * WAL + synchronous=FULL makes every committed transaction durable across a crash or kill -9, at the
 * cost of an fsync per commit, which is what a system of record needs. busy_timeout covers a second
 * process (a CLI, a backup) holding the write lock briefly.
 * @param path - The SQLite file path (its folder is created when missing), or `:memory:`.
 * @returns The open connection; the caller closes it.
 */
export function openFhirDatabase(path: string): FhirDatabase {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`FHIR database ${path} has schema version ${version}, newer than this build (${SCHEMA_VERSION})`);
    }
    if (version < SCHEMA_VERSION) {
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
