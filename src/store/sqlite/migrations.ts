/**
 * The embedded store's schema, as named migrations applied in order at open (db.ts). Add a migration
 * at the end with a new name; never edit one that has shipped.
 */
import type { Migration } from './db.js';

export const STORE_MIGRATIONS: Migration[] = [
  {
    id: '0001-records-outbox-ledger',
    sql: `
  CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    client_mrn TEXT,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX records_client ON records (client_mrn, kind);

  -- One row per record and target; a newer version replaces the pending one (coalescing).
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    target TEXT NOT NULL,
    record_version INTEGER NOT NULL,
    client_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    enqueued_at TEXT NOT NULL,
    UNIQUE (kind, record_id, target)
  );
  CREATE INDEX outbox_due ON outbox (target, next_attempt_at);
  CREATE INDEX outbox_client ON outbox (target, client_key, seq);

  CREATE TABLE sync_state (
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    outcome TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, record_id, target)
  );

  CREATE TABLE ledger (
    target TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    record_version INTEGER NOT NULL,
    mapping TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (target, resource_type, identifier)
  );
  CREATE INDEX ledger_record ON ledger (target, kind, record_id);
  `,
  },
  {
    id: '0002-audit',
    sql: `
  -- Local audit trail: one FHIR AuditEvent per disclosure or write attempt (IHE BALP shape), kept
  -- whatever the target accepts. Indexed for the per-client accounting of disclosures.
  CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    recorded TEXT NOT NULL,
    client_mrn TEXT,
    kind TEXT,
    record_id TEXT,
    target TEXT,
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    event TEXT NOT NULL
  );
  CREATE INDEX audit_client ON audit (client_mrn, recorded);
  CREATE INDEX audit_record ON audit (kind, record_id);
  `,
  },
  {
    id: '0003-delivery',
    sql: `
  -- Delivery (issue #5). A dead letter keeps its outbox row, parked (dead_at set) until replayed, so
  -- a replay goes through the worker again. failures/failing_since count the transient failures of
  -- the current version against SYNC_MAX_ATTEMPTS and SYNC_MAX_AGE_MS; a new version resets them.
  ALTER TABLE outbox ADD COLUMN dead_at INTEGER;
  ALTER TABLE outbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE outbox ADD COLUMN failing_since INTEGER;
  CREATE INDEX outbox_dead ON outbox (target, dead_at);

  -- The machine-readable part of a state's reason (patient-not-found, upstream-422...): the review
  -- list and the dead-letter filters select on it.
  ALTER TABLE sync_state ADD COLUMN reason_code TEXT;
  CREATE INDEX sync_state_by_state ON sync_state (target, state, reason_code);

  -- Write-ahead intents: written before a plain (non-conditional) create on a target that cannot
  -- search the type by identifier, removed when the ledger learns the result. An intent found on the
  -- next attempt means the outcome of that create is unknown: search before creating again.
  CREATE TABLE write_intent (
    target TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (target, resource_type, identifier)
  );
  `,
  },
  {
    id: '0004-outbox-leased',
    sql: `
  -- The claim and the worker's sleep look for clients with an entry in flight: few rows, found by this
  -- partial index instead of a scan of the whole outbox.
  CREATE INDEX outbox_leased ON outbox (target, lease_until) WHERE lease_until IS NOT NULL;
  `,
  },
  {
    id: 'access-audit',
    sql: `
  -- The access audit (issue #10): one BALP-shaped AuditEvent per call that read or changed PHI. Pages
  -- are read by time, by user or by client through these indexes, and purged oldest first by time.
  CREATE TABLE access_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    event TEXT NOT NULL
  );
  CREATE INDEX access_audit_time ON access_audit (recorded_ms, seq);
  CREATE INDEX access_audit_who ON access_audit (who, recorded_ms, seq);
  -- The clients a call touched (several for a search): the filter by client, never logged.
  CREATE TABLE access_audit_client (
    client_mrn TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (client_mrn, recorded_ms, seq)
  ) WITHOUT ROWID;
  CREATE INDEX access_audit_client_time ON access_audit_client (recorded_ms);
  `,
  },
];

/** Databases from before migrations were named count them in PRAGMA user_version: the first N of these. */
export const LEGACY_MIGRATION_ORDER = STORE_MIGRATIONS.slice(0, 4).map((m) => m.id);
