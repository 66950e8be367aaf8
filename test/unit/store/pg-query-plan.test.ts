/**
 * Query plans of the PostgreSQL store: no per-record or per-request statement scans a table that grows
 * with the data. The tables are filled with tens of thousands of rows (ANALYZEd, so the planner knows
 * their size), a workload runs through every slice of the store, and every statement the store ran
 * (PgDb's observer: statements any slice adds are covered without being listed here), plus the
 * statements inside the triggers, is explained with its own parameters. A `Seq Scan` of a growing table
 * fails the test unless the statement is named below with the reason.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../../../src/store/port.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../../helpers/postgres.js';
import { ledger, participant, put } from '../../store-contract/fixtures.js';

/** Tables that do not grow with records, entries or attempts (folded counters, migrations). */
const BOUNDED = new Set(['sync_count', 'outbox_count', 'schema_migrations']);

/** Deliberate reads of a whole table (or of a target's whole share of it), with the reason. */
const EXCEPTIONS: { sql: RegExp; why: string }[] = [
  { sql: /^SELECT \* FROM records\s+ORDER BY kind, id$/, why: 'listRecords without a filter: remap over every record (an operator command)' },
  { sql: /^SELECT \* FROM ledger WHERE target = \$1 ORDER BY resource_type, identifier$/, why: 'listLedger: every ledger entry of a target (reconciliation, proofs)' },
  { sql: /^SELECT id, recorded, .* FROM audit\s+ORDER BY recorded, seq$/, why: 'listAudit unfiltered: the whole trail (exports, tests)' },
];

interface Plan {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: Plan[];
}

function seqScans(plan: Plan, out: string[] = []): string[] {
  if (plan['Node Type'] === 'Seq Scan' && plan['Relation Name'] && !BOUNDED.has(plan['Relation Name'])) {
    out.push(plan['Relation Name']);
  }
  for (const p of plan.Plans ?? []) {
    seqScans(p, out);
  }
  return out;
}

if (!TEST_DATABASE_URL) {
  describe('PostgreSQL query plans', () => {
    process.stderr.write(`test/unit/store/pg-query-plan.test.ts: ${POSTGRES_SKIPPED}\n`);
    test.skip(POSTGRES_SKIPPED, () => {});
  });
} else {
  const schema = `qp_${randomBytes(5).toString('hex')}`;
  const seen = new Map<string, unknown[]>();
  let recording = false;
  let store: Store;
  let admin: pg.Client;

  beforeAll(async () => {
    store = await PostgresStore.open({
      connectionString: TEST_DATABASE_URL as string,
      schema,
      observe: (sql, params) => {
        if (recording) {
          seen.set(sql.trim(), params);
        }
      },
    });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
    await admin.connect();
    // Tens of thousands of rows in every growing table (the triggers keep heads and counters).
    await admin.query(`INSERT INTO records (kind, id, client_mrn, version, hash, body, received_at, updated_at)
      SELECT 'participant', 'bulk-' || g, 'BULK-' || (g % 5000), 1, 'h', '{}'::jsonb, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
      FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO outbox (kind, record_id, target, record_version, client_key, next_attempt_at, arrived_at, enqueued_at, dead_at)
      SELECT 'participant', 'bulk-' || g, 't1', 1, 'BULK-' || (g % 5000), 4102444800000 + g, g, '2026-01-01T00:00:00Z',
             CASE WHEN g % 10 = 0 THEN g ELSE NULL END
      FROM generate_series(1, 20000) g`);
    await admin.query(`INSERT INTO sync_state (kind, record_id, target, state, reason_code, attempts, updated_at)
      SELECT 'participant', 'bulk-' || g, 't1', (ARRAY['synced','held','failed','dead-letter'])[1 + g % 4],
             (ARRAY[NULL,'patient-not-found','upstream-500','upstream-422'])[1 + g % 4], 1, '2026-01-01T00:00:00Z'
      FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO ledger (target, resource_type, identifier, kind, record_id, resource_id, version_id, record_version, mapping, content_hash, synced_at)
      SELECT 't1', 'RelatedPerson', 'sys|bulk-' || g, 'participant', 'bulk-' || g, 'r' || g, '1', 1, 'm@1', 'h', '2026-01-01T00:00:00Z'
      FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO audit (id, recorded, client_mrn, kind, record_id, target, category, outcome, event)
      SELECT 'a-' || g, '2026-01-01T00:00:00Z', 'BULK-' || (g % 5000), 'participant', 'bulk-' || g, 't1', 'disclosure', 'success', '{}'::jsonb
      FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO outbox_wait (wait_key, target, seq) SELECT 'party:BULK-' || (seq % 5000), 't1', seq FROM outbox WHERE seq % 3 = 0`);
    await admin.query(`INSERT INTO write_intent (target, resource_type, identifier, kind, record_id, created_at)
      SELECT 't1', 'DocumentReference', 'sys|bulk-' || g, 'note', 'bulk-' || g, 'x' FROM generate_series(1, 20000) g`);
    await admin.query(`INSERT INTO import_jobs (id, state, created_by, owner, started_at, updated_at)
      SELECT 'bulk-job-' || g, 'completed', 'x', 'old', 'x', 'x' FROM generate_series(1, 20000) g`);
    await admin.query(`INSERT INTO import_job_lines (job_seq, line, status) SELECT g % 20000 + 1, g, 'accepted' FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO access_audit (id, recorded_ms, who, action, route, status, event)
      SELECT 'bulk-' || g, 1767225600000 + g * 1000, 'user-' || (g % 50), 'read', 'GET /x', 200, '{}'::jsonb FROM generate_series(1, 40000) g`);
    await admin.query(`INSERT INTO access_audit_client (client_mrn, recorded_ms, seq) SELECT 'BULK-' || (seq % 5000), recorded_ms, seq FROM access_audit`);
    await admin.query('ANALYZE');

    // The workload: every slice, every delivery outcome.
    recording = true;
    const s = store;
    await s.records.putRecord(put(participant('p-1')));
    await s.records.putRecords([put(participant('p-2', 'MRN-2')), put(participant('p-3', 'MRN-3')), put(participant('p-4', 'MRN-4'))]);
    await s.records.putRecordGroup([{ input: put(participant('p-5', 'MRN-5')) }, { input: put(participant('p-1', 'MRN-1', 'Changed')) }]);
    await s.records.putRecord({ ...put(participant('p-6', 'MRN-6')), blocked: 'local only' });
    const session = { id: 's-1', client: { mrn: 'MRN-1' }, therapist: { npi: '1234567893' }, type: 'collateral', participants: [], modality: 'video', status: 'completed', start: '2026-01-01T10:00:00Z' };
    await s.records.putRecord({ kind: 'session', record: session as never, clientMrn: 'MRN-1', clientKey: 'MRN-1', targets: ['t1'] });
    await s.records.getRecord('participant', 'p-1');
    await s.records.getRecords('participant', ['p-1', 'p-2']);
    await s.records.listRecords({ clientMrn: 'MRN-1' });
    await s.records.listRecords({ clientMrn: 'MRN-1', kind: 'participant' });
    await s.records.listRecords({});
    const claimed = await s.outbox.claimOutbox('t1', 5, 60_000);
    const later = new Date(Date.now() + 3_600_000);
    const [a, b, c, d, e] = claimed;
    await s.outbox.settle([
      { entry: a, state: 'synced', ledger: [ledger(`sys|${a.recordId}`, { recordId: a.recordId })], wake: ['dep:x'] },
      { entry: b, state: 'held', reason: 'x', code: 'patient-not-found', recheckAt: later, waitFor: ['party:MRN-2/p-2'] },
      { entry: c, state: 'failed', reason: 'x', code: 'upstream-500', nextAttemptAt: later },
      { entry: d, state: 'dead-letter', reason: 'x', code: 'upstream-422' },
      ...(e ? [{ entry: e, state: 'not-writable' as const, reason: 'x' }] : []),
    ]);
    const [f] = await s.outbox.claimOutbox('t1', 1, 60_000, new Date(Date.now() + 7_200_000));
    if (f) {
      await s.outbox.settle([{ entry: f, state: 'blocked', reason: 'deny' }]);
    }
    await s.outbox.wake({ keys: ['party:MRN-2/p-2', 'party:BULK-7'], clientKeys: ['MRN-3'] });
    await s.outbox.wake({ keys: ['party:BULK-8'], target: 't1' });
    await s.outbox.wakeWaiting({ recordId: 'p-3' });
    await s.outbox.wakeWaiting({ clientMrn: 'MRN-3', state: 'failed' });
    await s.outbox.requeue([{ kind: 'participant', id: 'p-4' }], 't1');
    await s.outbox.nextDueAt('t1');
    await s.ledger.getLedgerByIdentifier('t1', 'RelatedPerson', 'sys|bulk-5');
    await s.ledger.getLedgerByIdentifiers('t1', [{ resourceType: 'RelatedPerson', identifier: 'sys|bulk-5' }, { resourceType: 'RelatedPerson', identifier: 'sys|bulk-6' }, { resourceType: 'Encounter', identifier: 'none' }]);
    await s.ledger.getLedgerForRecord('t1', 'participant', 'bulk-5');
    await s.ledger.listLedger('t1');
    await s.ledger.recordLedger([ledger('sys|p-9')]);
    await s.ledger.deleteLedger('t1', 'RelatedPerson', 'sys|p-9');
    await s.ledger.putWriteIntent({ target: 't1', resourceType: 'X', identifier: 'i', kind: 'note', recordId: 'n', createdAt: 'x' });
    await s.ledger.getWriteIntent('t1', 'X', 'i');
    await s.ledger.clearWriteIntent('t1', 'X', 'i');
    await s.audit.appendAudit([{ id: 'a-new', recorded: 'x', clientMrn: 'MRN-1', category: 'disclosure', outcome: 'success', event: {} as never }]);
    await s.audit.listAudit({ clientMrn: 'BULK-1' });
    await s.audit.listAudit({ clientMrn: 'BULK-1', category: 'disclosure' });
    await s.audit.listAudit({ kind: 'participant', recordId: 'bulk-1' });
    await s.audit.listAudit({});
    await s.status.getSyncStates('participant', 'bulk-1');
    await s.status.countSyncStates();
    await s.status.targetStatus();
    await s.status.listDeadLetters({ recordId: 'bulk-10' });
    await s.status.listDeadLetters({ clientMrn: 'BULK-10' });
    await s.status.listDeadLetters({ target: 't1' }, 50);
    await s.status.listSyncStates({ state: 'held', reasonCode: 'patient-not-found' }, 50);
    await s.status.listSyncStates({ clientMrn: 'BULK-1', state: 'held' });
    await s.status.outboxSize('t1');
    await s.importJobs.createJob({ id: 'job-1', createdBy: 'x', now: new Date() });
    await s.records.putRecordGroup([{ input: put(participant('p-7', 'MRN-7')), job: { jobId: 'job-1', line: 1 } }], [{ jobId: 'job-1', throughLine: 1, rejected: [] }]);
    await s.importJobs.getJob('job-1');
    await s.importJobs.listJobResults('job-1', 0, 100);
    await s.importJobs.finishJob('job-1', 'completed', undefined, new Date());
    await s.importJobs.failInterruptedJobs(new Date());
    await s.accessAudit.appendAccess([
      { id: 'ae-1', recorded: new Date().toISOString(), who: 'alice', action: 'read', route: 'GET /x', status: 200, clientMrns: ['BULK-1'], event: {} as never },
    ]);
    await s.accessAudit.listAccess({ limit: 50 });
    await s.accessAudit.listAccess({ limit: 50, who: 'alice' });
    await s.accessAudit.listAccess({ limit: 50, clientMrn: 'BULK-1' });
    await s.accessAudit.purgeAccessBefore(new Date(Date.UTC(2026, 0, 2)), 100);
    recording = false;
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  test('no statement the store ran scans a growing table (each explained with its own parameters)', async () => {
    expect(seen.size).toBeGreaterThan(40);
    const findings: string[] = [];
    for (const [sql, params] of seen) {
      if (!/^(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(sql) || EXCEPTIONS.some((x) => x.sql.test(sql.replace(/\s+/g, ' ')))) {
        continue;
      }
      const r = await admin.query<{ 'QUERY PLAN': { Plan: Plan }[] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const scans = seqScans(r.rows[0]['QUERY PLAN'][0].Plan);
      if (scans.length > 0) {
        findings.push(`${scans.join(', ')}: ${sql.replace(/\s+/g, ' ').slice(0, 200)}`);
      }
    }
    expect(findings).toEqual([]);
  });

  test('the statements inside the triggers use indexes too', async () => {
    const inTriggers: [string, unknown[]][] = [
      ['SELECT MIN(next_attempt_at) FROM outbox WHERE client_key = $1 AND target = $2 AND dead_at IS NULL', ['BULK-7', 't1']],
      ['SELECT 1 FROM outbox WHERE client_key = $1 AND target = $2', ['BULK-7', 't1']],
      ['DELETE FROM outbox_wait WHERE seq = $1', [3]],
      ['UPDATE outbox_head SET due_at = 1 WHERE client_key = $1 AND target = $2', ['BULK-7', 't1']],
    ];
    const findings: string[] = [];
    for (const [sql, params] of inTriggers) {
      const r = await admin.query<{ 'QUERY PLAN': { Plan: Plan }[] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const scans = seqScans(r.rows[0]['QUERY PLAN'][0].Plan);
      if (scans.length > 0) {
        findings.push(`${scans.join(', ')}: ${sql}`);
      }
    }
    expect(findings).toEqual([]);
  });
}
