/**
 * The PostgreSQL store's schema, as versioned migrations applied in order at start (db.ts). Add a
 * migration at the end with a new name; never edit one that has shipped.
 *
 * The same tables as the embedded store (src/store/sqlite/migrations.ts, its state after 0006), with
 * what several instances sharing one database need:
 * - queue heads (outbox_head) carry the lease and its owner; triggers keep their due time current, and
 *   lock the head before reading the queue, so two transactions changing one client's queue at once
 *   never leave a stale due time (the second computes after the first committed);
 * - status counters are append-only deltas (sync_count, outbox_count) summed and folded by the status
 *   reads, so concurrent transitions never wait for (or deadlock on) one shared counter row.
 */
import type { PgMigration } from './db.js';

export const PG_STORE_MIGRATIONS: PgMigration[] = [
  {
    id: '0001-store',
    sql: `
  CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    client_mrn TEXT,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    body JSONB NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX records_client ON records (client_mrn, kind, id);

  -- One row per record and target; a newer version replaces the pending one (coalescing). Times in
  -- epoch milliseconds. dead_at: parked (a dead letter) until replayed.
  CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    target TEXT NOT NULL,
    record_version INTEGER NOT NULL,
    client_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    arrived_at BIGINT NOT NULL,
    enqueued_at TEXT NOT NULL,
    dead_at BIGINT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since BIGINT,
    UNIQUE (kind, record_id, target)
  );
  -- A client's queue in claim order, unparked entries only.
  CREATE INDEX outbox_queue ON outbox (client_key, target, next_attempt_at, seq) WHERE dead_at IS NULL;
  -- Entries by client whatever their state (rekeying notes, emptiness of a queue).
  CREATE INDEX outbox_client_key ON outbox (client_key, target);
  -- The oldest waiting entry per target (status).
  CREATE INDEX outbox_age ON outbox (target, seq) WHERE dead_at IS NULL;
  -- Dead letters, oldest first.
  CREATE INDEX outbox_parked ON outbox (dead_at, seq) WHERE dead_at IS NOT NULL;

  CREATE TABLE sync_state (
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    reason_code TEXT,
    outcome JSONB,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, record_id, target)
  );
  CREATE INDEX sync_state_state ON sync_state (state, reason_code, updated_at);

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
  CREATE INDEX ledger_record ON ledger (target, kind, record_id, resource_type, identifier);

  CREATE TABLE write_intent (
    target TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (target, resource_type, identifier)
  );

  CREATE TABLE audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    recorded TEXT NOT NULL,
    client_mrn TEXT,
    kind TEXT,
    record_id TEXT,
    target TEXT,
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    event JSONB NOT NULL
  );
  CREATE INDEX audit_client ON audit (client_mrn, recorded, seq);
  CREATE INDEX audit_record ON audit (kind, record_id, recorded, seq);

  CREATE TABLE import_jobs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    lines_read INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    created_by TEXT NOT NULL,
    -- The instance reading the job's body: only its own restart (or its death) interrupts the job.
    owner TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX import_jobs_running ON import_jobs (owner) WHERE state = 'running';
  CREATE TABLE import_job_lines (
    job_seq BIGINT NOT NULL,
    line INTEGER NOT NULL,
    status TEXT NOT NULL,
    kind TEXT,
    record_id TEXT,
    version INTEGER,
    outcome JSONB,
    PRIMARY KEY (job_seq, line)
  );

  -- Each client's queue on each target: the due time of its earliest unparked entry (kept by the
  -- triggers below) and, while one of its entries is in flight, the lease and the instance holding it.
  -- rewake: something a held record could wait for happened while an entry of the client was in flight.
  CREATE TABLE outbox_head (
    client_key TEXT NOT NULL,
    target TEXT NOT NULL,
    due_at BIGINT,
    lease_until BIGINT,
    lease_owner TEXT,
    rewake BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (client_key, target)
  );
  CREATE INDEX outbox_head_due ON outbox_head (target, due_at) WHERE lease_until IS NULL AND due_at IS NOT NULL;
  CREATE INDEX outbox_head_leased ON outbox_head (target, lease_until) WHERE lease_until IS NOT NULL;

  -- What each held entry waits for (opaque keys, src/sync/wait-keys.ts).
  CREATE TABLE outbox_wait (
    wait_key TEXT NOT NULL,
    target TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (wait_key, target, seq)
  );
  CREATE INDEX outbox_wait_seq ON outbox_wait (seq);

  -- Recomputes a queue head's due time. The head is locked first (created if missing), and the due
  -- time is read by a later statement: a VOLATILE function's statement sees everything committed before
  -- it starts, so whichever transaction locks the head last computes from every change of the queue.
  CREATE FUNCTION outbox_head_touch(ck TEXT, tg TEXT) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    INSERT INTO outbox_head AS h (client_key, target) VALUES (ck, tg)
      ON CONFLICT (client_key, target) DO UPDATE SET client_key = h.client_key;
    UPDATE outbox_head SET due_at = (SELECT MIN(next_attempt_at) FROM outbox
                                     WHERE client_key = ck AND target = tg AND dead_at IS NULL)
      WHERE client_key = ck AND target = tg;
    DELETE FROM outbox_head WHERE client_key = ck AND target = tg AND lease_until IS NULL AND due_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox WHERE client_key = ck AND target = tg);
  END $$;

  CREATE FUNCTION outbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      IF OLD.client_key IS NOT DISTINCT FROM NEW.client_key AND OLD.target IS NOT DISTINCT FROM NEW.target
         AND OLD.next_attempt_at IS NOT DISTINCT FROM NEW.next_attempt_at AND OLD.dead_at IS NOT DISTINCT FROM NEW.dead_at THEN
        RETURN NULL;
      END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      PERFORM outbox_head_touch(OLD.client_key, OLD.target);
    END IF;
    IF TG_OP = 'DELETE' THEN
      DELETE FROM outbox_wait WHERE seq = OLD.seq;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.client_key <> NEW.client_key OR OLD.target <> NEW.target THEN
      PERFORM outbox_head_touch(NEW.client_key, NEW.target);
    END IF;
    -- Counter deltas only when the entry's target or parked-ness changes (not for a new due time).
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.target <> NEW.target OR (OLD.dead_at IS NULL) <> (NEW.dead_at IS NULL))) THEN
      INSERT INTO outbox_count (target, parked, n) VALUES (OLD.target, OLD.dead_at IS NOT NULL, -1);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (OLD.target <> NEW.target OR (OLD.dead_at IS NULL) <> (NEW.dead_at IS NULL))) THEN
      INSERT INTO outbox_count (target, parked, n) VALUES (NEW.target, NEW.dead_at IS NOT NULL, 1);
    END IF;
    RETURN NULL;
  END $$;

  -- Status counters as deltas: +1/-1 rows appended with each transition (no shared row to wait for),
  -- summed by the reads and folded into one row per key by them (status.ts).
  CREATE TABLE sync_count (target TEXT NOT NULL, state TEXT NOT NULL, reason_code TEXT NOT NULL, n BIGINT NOT NULL);
  CREATE TABLE outbox_count (target TEXT NOT NULL, parked BOOLEAN NOT NULL, n BIGINT NOT NULL);

  CREATE TRIGGER outbox_changed AFTER INSERT OR UPDATE OR DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_changed();

  CREATE FUNCTION sync_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      IF OLD.target = NEW.target AND OLD.state = NEW.state AND OLD.reason_code IS NOT DISTINCT FROM NEW.reason_code THEN
        RETURN NULL;
      END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      INSERT INTO sync_count VALUES (OLD.target, OLD.state, COALESCE(OLD.reason_code, ''), -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
      INSERT INTO sync_count VALUES (NEW.target, NEW.state, COALESCE(NEW.reason_code, ''), 1);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER sync_state_changed AFTER INSERT OR UPDATE OR DELETE ON sync_state FOR EACH ROW EXECUTE FUNCTION sync_state_changed();
  `,
  },
  {
    id: '0002-access-audit',
    sql: `
  -- The access audit (issue #10; the SQLite store's 0007-access-audit): one BALP-shaped AuditEvent per
  -- call that read or changed PHI, paged by time, by user or by client, purged oldest first by time.
  CREATE TABLE access_audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    event JSONB NOT NULL
  );
  CREATE INDEX access_audit_time ON access_audit (recorded_ms, seq);
  CREATE INDEX access_audit_who ON access_audit (who, recorded_ms, seq);
  CREATE TABLE access_audit_client (
    client_mrn TEXT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (client_mrn, recorded_ms, seq)
  );
  CREATE INDEX access_audit_client_time ON access_audit_client (recorded_ms);
  `,
  },
  {
    id: '0003-console-record-state-indexes',
    sql: `
  -- The console's records listing (by state, reason, kind, or none, each then by time, newest first)
  -- and its throughput figures (the SQLite store's 0007-console-record-state-indexes).
  CREATE INDEX sync_state_changed ON sync_state (updated_at, kind, record_id, target);
  CREATE INDEX sync_state_state_changed ON sync_state (state, updated_at);
  CREATE INDEX sync_state_reason_changed ON sync_state (reason_code, updated_at);
  CREATE INDEX sync_state_kind_changed ON sync_state (kind, updated_at);
  CREATE INDEX audit_category_recorded ON audit (category, recorded) WHERE category IN ('disclosure', 'write-attempt');
  `,
  },
];
