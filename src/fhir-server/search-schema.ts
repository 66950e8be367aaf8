/**
 * The search index tables of the embedded FHIR server (schema version 2). The design, and why, is in
 * docs/embedded-fhir-server.md; in short, the way medplum's own server indexes (lookup tables of
 * (resource, parameter, value) rows, one per value a search parameter's FHIRPath expression yields):
 *
 * - `search_resource`: one row per live resource, with a small integer key (`rid`) the value tables
 *   use, and `last_updated` for `_sort=_lastUpdated` and the default order.
 * - `search_param`: a small integer key (`pid`) per (resource type, search parameter code).
 * - `search_token`  (token):     lower-cased system and code/value ('' when absent), as medplum's
 *   matcher compares them.
 * - `search_reference` (reference): the reference strings medplum's matcher compares.
 * - `search_date` (date): each value's [low, high] instant bounds, as medplum's matcher computes them,
 *   and a span class (log2 of the width in ms) so a date window is a bounded range scan.
 * - `search_string` (string, uri): lower-cased values, with an FTS5 trigram index
 *   (`search_string_fts`) because medplum's matcher matches strings by substring.
 *
 * A parameter whose expression yields values of which none is indexable (an Identifier with only a
 * `use`) gets a marker row (token ('',''), reference '', date span -1, string NULL) so `:missing`
 * stays exact. `search_meta` records which definitions the index was built with (search-reindex.ts).
 */

export const SEARCH_SCHEMA = `
CREATE TABLE IF NOT EXISTS search_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS search_param (
  pid           INTEGER PRIMARY KEY,
  resource_type TEXT NOT NULL,
  code          TEXT NOT NULL,
  broken        INTEGER NOT NULL DEFAULT 0,
  UNIQUE (resource_type, code)
);

CREATE TABLE IF NOT EXISTS search_resource (
  rid           INTEGER PRIMARY KEY,
  resource_type TEXT NOT NULL,
  id            TEXT NOT NULL,
  last_updated  TEXT NOT NULL,
  UNIQUE (resource_type, id)
);
CREATE INDEX IF NOT EXISTS search_resource_by_updated ON search_resource (resource_type, last_updated, id);

CREATE TABLE IF NOT EXISTS search_token (
  rid    INTEGER NOT NULL,
  pid    INTEGER NOT NULL,
  system TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (rid, pid, system, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_token_by_value ON search_token (pid, value, system);
CREATE INDEX IF NOT EXISTS search_token_by_system ON search_token (pid, system, value);

CREATE TABLE IF NOT EXISTS search_reference (
  rid INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  ref TEXT NOT NULL,
  PRIMARY KEY (rid, pid, ref)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_reference_by_ref ON search_reference (pid, ref);

CREATE TABLE IF NOT EXISTS search_date (
  rid  INTEGER NOT NULL,
  pid  INTEGER NOT NULL,
  low  TEXT NOT NULL,
  high TEXT NOT NULL,
  span INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, low, high)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_date_by_low ON search_date (pid, span, low, high);

-- The span classes present per parameter, so a date search knows which ranges to look at.
CREATE TABLE IF NOT EXISTS search_date_class (
  pid  INTEGER NOT NULL,
  span INTEGER NOT NULL,
  PRIMARY KEY (pid, span)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS search_string (
  sid   INTEGER PRIMARY KEY,
  rid   INTEGER NOT NULL,
  pid   INTEGER NOT NULL,
  value TEXT
);
CREATE INDEX IF NOT EXISTS search_string_by_resource ON search_string (rid, pid, value);
CREATE INDEX IF NOT EXISTS search_string_by_value ON search_string (pid, value, rid);

CREATE VIRTUAL TABLE IF NOT EXISTS search_string_fts USING fts5(
  value, content = 'search_string', content_rowid = 'sid',
  tokenize = 'trigram case_sensitive 1', detail = 'none'
);
CREATE TRIGGER IF NOT EXISTS search_string_fts_insert AFTER INSERT ON search_string
  WHEN new.value IS NOT NULL BEGIN
  INSERT INTO search_string_fts (rowid, value) VALUES (new.sid, new.value);
END;
CREATE TRIGGER IF NOT EXISTS search_string_fts_delete AFTER DELETE ON search_string
  WHEN old.value IS NOT NULL BEGIN
  INSERT INTO search_string_fts (search_string_fts, rowid, value) VALUES ('delete', old.sid, old.value);
END;
`;

/** The value tables, each keyed by (rid, pid, ...): what a re-index or a delete clears per resource. */
export const VALUE_TABLES = ['search_token', 'search_reference', 'search_date', 'search_string'] as const;
