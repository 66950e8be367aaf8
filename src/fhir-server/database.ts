/**
 * Opens the SQLite file behind the embedded FHIR server and creates its schema.
 *
 * Storage, keyed by (resource_type, id):
 * - `resources`: the current version of every resource (a deleted one keeps a row with deleted = 1, so a
 *   read can answer 410 Gone and the next version number is known);
 * - `resource_history`: every version ever written, deletions included (content NULL).
 * Their columns are a contract: other tools read `resources` with their own read-only connection.
 *
 * The search index (schema version 2, see search-schema.ts and docs/embedded-fhir-server.md) lives in
 * `search_*` tables next to them. A version-1 file (which only indexed `identifier` in
 * `resource_tokens`) is upgraded in place: the new tables are created here, and the repository
 * re-indexes the stored resources in the background (search-reindex.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SEARCH_SCHEMA } from './search-schema.js';

/** An open better-sqlite3 connection. */
export type FhirDatabase = Database.Database;

/** Bumped when the schema changes; stored in PRAGMA user_version. 2: the search index tables. */
export const FHIR_SCHEMA_VERSION = 2;

const STORAGE_SCHEMA = `
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
`;

/** Version 1's identifier-only token index, superseded by search_token. */
const DROP_V1_INDEX = 'DROP TABLE IF EXISTS resource_tokens;';

/**
 * Opens (creating if needed) the FHIR store at `path` and ensures its schema exists, upgrading a
 * version-1 file (the re-index itself is the repository's job, see search-reindex.ts).
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
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > FHIR_SCHEMA_VERSION) {
      throw new Error(
        `FHIR database ${path} has schema version ${version}, newer than this build (${FHIR_SCHEMA_VERSION})`
      );
    }
    db.transaction(() => {
      db.exec(STORAGE_SCHEMA);
      db.exec(SEARCH_SCHEMA);
      if (version < FHIR_SCHEMA_VERSION) {
        db.exec(DROP_V1_INDEX);
        db.pragma(`user_version = ${FHIR_SCHEMA_VERSION}`);
      }
    }).immediate();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
