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
    id: '0005-import-jobs',
    sql: `
  -- Streaming imports run as jobs (docs/intake.md): the job's counters are updated in the same
  -- transaction as the records of its lines, so they never claim more than is committed. Lines are
  -- keyed by the job's integer key (not its public id) to keep a 1M-line job's results small.
  CREATE TABLE import_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    lines_read INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    created_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
  );
  -- At start the running jobs (of a process that is gone) are found without a scan.
  CREATE INDEX import_jobs_running ON import_jobs (state) WHERE state = 'running';
  CREATE TABLE import_job_lines (
    job_seq INTEGER NOT NULL,
    line INTEGER NOT NULL,
    status TEXT NOT NULL,
    kind TEXT,
    record_id TEXT,
    version INTEGER,
    outcome TEXT,
    PRIMARY KEY (job_seq, line)
  ) WITHOUT ROWID;
  `,
  },
  {
    id: '0006-queue-heads-waits-counters',
    sql: `
  -- Issue #8: every hot-path query is served by an index and nothing per record scans a growing table.
  --
  -- The claim no longer groups the due entries on every call: each client's queue on each target has a
  -- head row with the due time of its earliest unparked entry (kept current by the triggers below,
  -- whichever statement changes the outbox) and the lease while one of its entries is in flight. The
  -- claim reads the due heads in due order through a partial index, then each chosen client's first
  -- entry through outbox_queue. rewake is set when something a held record could wait for happens while
  -- an entry of the client is in flight (its hold is then re-evaluated at once: no lost wake-up).
  CREATE TABLE outbox_head (
    client_key TEXT NOT NULL,
    target TEXT NOT NULL,
    due_at INTEGER,
    lease_until INTEGER,
    rewake INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (client_key, target)
  );
  CREATE INDEX outbox_head_due ON outbox_head (target, due_at) WHERE lease_until IS NULL AND due_at IS NOT NULL;
  CREATE INDEX outbox_head_leased ON outbox_head (target, lease_until) WHERE lease_until IS NOT NULL;

  -- When the entry first arrived (ms). An entry due "now" (new, a new version, woken, replayed) is due
  -- from its arrival time, so a client's due entries go in arrival order and clients in the order their
  -- waiting work arrived; a failed entry is due at its backoff time.
  ALTER TABLE outbox ADD COLUMN arrived_at INTEGER;
  UPDATE outbox SET arrived_at = CAST((julianday(enqueued_at) - 2440587.5) * 86400000 AS INTEGER);
  UPDATE outbox SET next_attempt_at = arrived_at WHERE next_attempt_at > arrived_at AND dead_at IS NULL
    AND EXISTS (SELECT 1 FROM sync_state s WHERE s.kind = outbox.kind AND s.record_id = outbox.record_id
                AND s.target = outbox.target AND s.state = 'pending');

  -- A client's queue in claim order (due time, then arrival), unparked entries only.
  CREATE INDEX outbox_queue ON outbox (client_key, target, next_attempt_at, seq) WHERE dead_at IS NULL;
  -- Entries by client whatever their state (a session's arrival moves its notes to the client's queue).
  CREATE INDEX outbox_client_key ON outbox (client_key, target);
  -- The oldest waiting entry per target (status), unparked entries only.
  CREATE INDEX outbox_age ON outbox (target, seq) WHERE dead_at IS NULL;
  -- Dead letters, oldest first, on any target.
  CREATE INDEX outbox_parked ON outbox (dead_at, seq) WHERE dead_at IS NOT NULL;
  DROP INDEX IF EXISTS outbox_due;
  DROP INDEX IF EXISTS outbox_client;
  DROP INDEX IF EXISTS outbox_leased;
  -- Leases now live on the head; none may be left on entries.
  UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL;

  INSERT INTO outbox_head (client_key, target, due_at)
    SELECT client_key, target, MIN(CASE WHEN dead_at IS NULL THEN next_attempt_at END) FROM outbox GROUP BY client_key, target;

  -- What each held entry waits for (opaque keys such as party:MRN/participant-id, see src/sync/wait-keys.ts):
  -- an event wakes exactly the entries waiting on its keys through the primary key.
  CREATE TABLE outbox_wait (
    wait_key TEXT NOT NULL,
    target TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (wait_key, target, seq)
  ) WITHOUT ROWID;
  CREATE INDEX outbox_wait_seq ON outbox_wait (seq);

  CREATE TRIGGER outbox_head_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_head (client_key, target) SELECT NEW.client_key, NEW.target
      WHERE NOT EXISTS (SELECT 1 FROM outbox_head WHERE client_key = NEW.client_key AND target = NEW.target);
    UPDATE outbox_head SET due_at = (SELECT MIN(next_attempt_at) FROM outbox
                                     WHERE client_key = NEW.client_key AND target = NEW.target AND dead_at IS NULL)
      WHERE client_key = NEW.client_key AND target = NEW.target;
  END;
  CREATE TRIGGER outbox_head_update AFTER UPDATE OF client_key, target, next_attempt_at, dead_at ON outbox BEGIN
    UPDATE outbox_head SET due_at = (SELECT MIN(next_attempt_at) FROM outbox
                                     WHERE client_key = OLD.client_key AND target = OLD.target AND dead_at IS NULL)
      WHERE client_key = OLD.client_key AND target = OLD.target;
    INSERT INTO outbox_head (client_key, target) SELECT NEW.client_key, NEW.target
      WHERE NOT EXISTS (SELECT 1 FROM outbox_head WHERE client_key = NEW.client_key AND target = NEW.target);
    UPDATE outbox_head SET due_at = (SELECT MIN(next_attempt_at) FROM outbox
                                     WHERE client_key = NEW.client_key AND target = NEW.target AND dead_at IS NULL)
      WHERE client_key = NEW.client_key AND target = NEW.target;
    DELETE FROM outbox_head WHERE client_key = OLD.client_key AND target = OLD.target AND lease_until IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox WHERE client_key = OLD.client_key AND target = OLD.target);
  END;
  CREATE TRIGGER outbox_head_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_head SET due_at = (SELECT MIN(next_attempt_at) FROM outbox
                                     WHERE client_key = OLD.client_key AND target = OLD.target AND dead_at IS NULL)
      WHERE client_key = OLD.client_key AND target = OLD.target;
    DELETE FROM outbox_head WHERE client_key = OLD.client_key AND target = OLD.target AND lease_until IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox WHERE client_key = OLD.client_key AND target = OLD.target);
    DELETE FROM outbox_wait WHERE seq = OLD.seq;
  END;

  -- Status figures as counters kept in the same transactions as the transitions (triggers), so the
  -- status endpoint reads a handful of rows instead of grouping the whole sync_state and outbox.
  -- (No OR IGNORE or upsert inside these triggers: the conflict clause of an outer upsert would override it.)
  CREATE TABLE sync_count (
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (target, state, reason_code)
  ) WITHOUT ROWID;
  INSERT INTO sync_count (target, state, reason_code, n)
    SELECT target, state, COALESCE(reason_code, ''), COUNT(*) FROM sync_state GROUP BY target, state, COALESCE(reason_code, '');
  CREATE TRIGGER sync_count_insert AFTER INSERT ON sync_state BEGIN
    UPDATE sync_count SET n = n + 1 WHERE target = NEW.target AND state = NEW.state AND reason_code = COALESCE(NEW.reason_code, '');
    INSERT INTO sync_count (target, state, reason_code, n) SELECT NEW.target, NEW.state, COALESCE(NEW.reason_code, ''), 1
      WHERE NOT EXISTS (SELECT 1 FROM sync_count WHERE target = NEW.target AND state = NEW.state AND reason_code = COALESCE(NEW.reason_code, ''));
  END;
  CREATE TRIGGER sync_count_delete AFTER DELETE ON sync_state BEGIN
    UPDATE sync_count SET n = n - 1 WHERE target = OLD.target AND state = OLD.state AND reason_code = COALESCE(OLD.reason_code, '');
  END;
  CREATE TRIGGER sync_count_update AFTER UPDATE OF target, state, reason_code ON sync_state BEGIN
    UPDATE sync_count SET n = n - 1 WHERE target = OLD.target AND state = OLD.state AND reason_code = COALESCE(OLD.reason_code, '');
    UPDATE sync_count SET n = n + 1 WHERE target = NEW.target AND state = NEW.state AND reason_code = COALESCE(NEW.reason_code, '');
    INSERT INTO sync_count (target, state, reason_code, n) SELECT NEW.target, NEW.state, COALESCE(NEW.reason_code, ''), 1
      WHERE NOT EXISTS (SELECT 1 FROM sync_count WHERE target = NEW.target AND state = NEW.state AND reason_code = COALESCE(NEW.reason_code, ''));
  END;

  CREATE TABLE outbox_count (
    target TEXT NOT NULL,
    parked INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (target, parked)
  ) WITHOUT ROWID;
  INSERT INTO outbox_count (target, parked, n) SELECT target, dead_at IS NOT NULL, COUNT(*) FROM outbox GROUP BY target, dead_at IS NOT NULL;
  CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox BEGIN
    UPDATE outbox_count SET n = n + 1 WHERE target = NEW.target AND parked = (NEW.dead_at IS NOT NULL);
    INSERT INTO outbox_count (target, parked, n) SELECT NEW.target, NEW.dead_at IS NOT NULL, 1
      WHERE NOT EXISTS (SELECT 1 FROM outbox_count WHERE target = NEW.target AND parked = (NEW.dead_at IS NOT NULL));
  END;
  CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_count SET n = n - 1 WHERE target = OLD.target AND parked = (OLD.dead_at IS NOT NULL);
  END;
  CREATE TRIGGER outbox_count_update AFTER UPDATE OF target, dead_at ON outbox BEGIN
    UPDATE outbox_count SET n = n - 1 WHERE target = OLD.target AND parked = (OLD.dead_at IS NOT NULL);
    UPDATE outbox_count SET n = n + 1 WHERE target = NEW.target AND parked = (NEW.dead_at IS NOT NULL);
    INSERT INTO outbox_count (target, parked, n) SELECT NEW.target, NEW.dead_at IS NOT NULL, 1
      WHERE NOT EXISTS (SELECT 1 FROM outbox_count WHERE target = NEW.target AND parked = (NEW.dead_at IS NOT NULL));
  END;

  -- Delivery lists by state and reason on any target (review list, not-writable, dead letters by reason,
  -- retry by reason), oldest change first, replacing the index that needed the target first.
  CREATE INDEX sync_state_state ON sync_state (state, reason_code, updated_at);
  DROP INDEX IF EXISTS sync_state_by_state;

  -- The lookups by client and by record carry their sort columns, so SQLite never prefers a primary key
  -- that only has the low-cardinality first column (kind, target) to avoid a sort: a client's consents and
  -- participants (the consent gate, per record) and a record's ledger entries cost what they return.
  DROP INDEX IF EXISTS records_client;
  CREATE INDEX records_client ON records (client_mrn, kind, id);
  DROP INDEX IF EXISTS ledger_record;
  CREATE INDEX ledger_record ON ledger (target, kind, record_id, resource_type, identifier);
  `,
  },
  {
    id: '0007-access-audit',
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
