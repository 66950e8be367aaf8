/**
 * The access audit: every call that reads or changes PHI is recorded (who, what, when, outcome; never
 * content), the privacy officer pages through it by time, user and client, it is written in batches,
 * purged after its retention in chunks, and its queries use indexes only.
 */
import { join } from 'node:path';
import type { AccessAuditEntry, AccessAuditStore } from '../../src/store/port.js';
import { AccessAuditLog } from '../../src/audit/access-audit-log.js';
import { buildAccessEvent } from '../../src/audit/access-event.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MRN_SYSTEM, records, seedBundle } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecuredService, type SecuredService } from './helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };

describe('the access audit through the real service', () => {
  let s: SecuredService;
  let patientId: string;
  const auditAll = async (query = ''): Promise<any[]> => {
    const r = await s.call('privacy-officer', 'GET', `/api/v1/audit/access?_count=1000${query}`);
    expect(r.status).toBe(200);
    return r.body.entries;
  };

  beforeAll(async () => {
    s = await startSecuredService({ ACCESS_AUDIT_FLUSH_MS: '50' });
    const seeded = await s.call('admin', 'POST', '/fhir', JSON.stringify(seedBundle), FHIR);
    expect(seeded.status).toBe(200);
    patientId = /Patient\/([^/]+)/.exec(seeded.body.entry[0].response.location)![1];
    expect((await s.call('source', 'PUT', '/api/v1/participants/p-001', records.participant)).status).toBe(201);
    expect((await s.call('source', 'PUT', '/api/v1/sessions/s-001', records.session)).status).toBe(201);
    expect((await s.call('source', 'PUT', '/api/v1/notes/n-001', records.note)).status).toBe(201);
    expect((await s.call('source', 'GET', '/api/v1/notes/n-001')).status).toBe(200);
    const ndjson = [JSON.stringify({ kind: 'consent', record: records.consent }), '{"kind":"note","record":{}}'].join('\n');
    expect((await s.call('source', 'POST', '/api/v1/import', ndjson, { 'content-type': 'application/x-ndjson' })).status).toBe(200);
    expect((await s.call('privacy-officer', 'GET', '/api/v1/clients/MRN-1001/disclosures')).status).toBe(200);
    expect((await s.call('fhir-reader', 'GET', `/fhir/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|MRN-1001`)}`)).status).toBe(200);
    expect((await s.call('fhir-reader', 'GET', `/fhir/Patient/${patientId}`)).status).toBe(200);
    expect((await s.call('fhir-reader', 'GET', '/api/v1/sessions/s-001')).status).toBe(403);
    expect((await s.call('operator', 'GET', '/api/v1/sync/status')).status).toBe(200);
    await waitFor(async () => (await auditAll()).length >= 10, 5000, 'the audit to be flushed');
  });
  afterAll(async () => {
    await s.close();
  });

  test('each PHI read and write is one entry: who, what, when, outcome, client', async () => {
    const entries = await auditAll('&user=source-key');
    const summary = entries.map((e) => [e.action, e.route, e.status, e.what, e.clients]);
    expect(summary).toEqual([
      ['create', 'PUT /api/v1/{collection}/{id}', 201, ['participant/p-001'], ['MRN-1001']],
      ['create', 'PUT /api/v1/{collection}/{id}', 201, ['session/s-001'], ['MRN-1001']],
      // A note names no client; the intake knows it through its session.
      ['create', 'PUT /api/v1/{collection}/{id}', 201, ['note/n-001'], ['MRN-1001']],
      ['read', 'GET /api/v1/{collection}/{id}', 200, ['note/n-001'], ['MRN-1001']],
      ['create', 'POST /api/v1/import', 200, ['consent/c-001'], []],
    ]);
    for (const e of entries) {
      expect(Date.parse(e.recorded)).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  test('FHIR reads and searches name the resources returned and the Patient\'s MRN, never the query\'s values', async () => {
    const r = await s.call('privacy-officer', 'GET', '/api/v1/audit/access?user=fhir-reader-key&_format=fhir');
    const events = r.body.entry.map((e: any) => e.resource);
    expect(events.map((e: any) => [e.subtype[0].code, e.outcome])).toEqual([
      ['search-type', '0'],
      ['read', '0'],
      ['read', '4'], // the refused GET of a record: audited as a failed attempt
    ]);
    const search = events[0];
    expect(search.agent[0].who).toMatchObject({ display: 'fhir-reader-key' });
    expect(search.entity).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ what: { identifier: { system: MRN_SYSTEM, value: 'MRN-1001' } }, role: expect.objectContaining({ code: '1' }) }),
        expect.objectContaining({ what: { reference: `Patient/${patientId}/_history/1` } }),
        expect.objectContaining({ description: 'search parameters: identifier' }),
      ])
    );
    const text = JSON.stringify(r.body);
    expect(text).not.toContain(MRN_SYSTEM + '|'); // the query value is not kept
    expect(text).not.toMatch(/Lopez|Maria|Nguyen|improved sleep|555-0100/);
  });

  test('the disclosures read is audited under the client; reading the audit is audited too', async () => {
    const byClient = await auditAll('&client=MRN-1001');
    expect(byClient.map((e) => e.who)).toEqual(expect.arrayContaining(['source-key', 'privacy-officer-key', 'fhir-reader-key']));
    expect(byClient.find((e) => e.route === 'GET /api/v1/clients/{mrn}/disclosures')).toMatchObject({ who: 'privacy-officer-key', action: 'search-type', status: 200 });
    await waitFor(async () => (await auditAll('&user=privacy-officer-key')).some((e) => e.route === 'GET /api/v1/audit/access'), 5000, 'the audit read to be audited');
  });

  test('calls that touch no PHI are not audited; the sync status is not', async () => {
    const entries = await auditAll('&user=operator-key');
    expect(entries).toEqual([]);
  });

  test('paging: _count and a next link that walks every entry exactly once; since/until bound by time', async () => {
    const all = await auditAll();
    const seen: string[] = [];
    let url: string | undefined = '/api/v1/audit/access?_count=3';
    while (url) {
      const r = await s.call('privacy-officer', 'GET', url);
      expect(r.body.count).toBeLessThanOrEqual(3);
      seen.push(...r.body.entries.map((e: any) => e.id));
      url = r.body.next ? new URL(r.body.next).pathname + new URL(r.body.next).search : undefined;
    }
    expect(seen.slice(0, all.length)).toEqual(all.map((e) => e.id));
    const future = await auditAll('&since=2999-01-01');
    expect(future).toEqual([]);
    const past = await auditAll('&until=2000-01-01T00:00:00Z');
    expect(past).toEqual([]);
  });

  test('bad filters: every problem at once, no value quoted', async () => {
    const r = await s.call('privacy-officer', 'GET', '/api/v1/audit/access?since=yesterday&_count=0&client=%3Cscript%3E&bogus=1&cursor=!!');
    expect(r.status).toBe(400);
    expect(r.body.issue.map((i: any) => i.expression[0]).sort()).toEqual(['_count', 'bogus', 'client', 'cursor', 'since']);
    expect(r.text).not.toContain('yesterday');
    expect(r.text).not.toContain('<script>');
  });

  test('only the privacy officer (and admin) may read it', async () => {
    for (const role of ['source', 'operator', 'analyst', 'fhir-reader'] as const) {
      expect((await s.call(role, 'GET', '/api/v1/audit/access')).status).toBe(403);
    }
    expect((await s.call('admin', 'GET', '/api/v1/audit/access')).status).toBe(200);
  });

  test('MRNs and record ids never reach the log', () => {
    const logs = s.svc.logs();
    expect(logs).toContain('"route":"GET /api/v1/clients/{mrn}/disclosures"');
    expect(logs).not.toContain('MRN-1001');
    expect(logs).not.toContain('/api/v1/sessions/s-001');
  });
});

function entry(who: string, recorded: Date, clients: string[]): AccessAuditEntry {
  return buildAccessEvent({
    ns: 'https://ns',
    mrnSystem: MRN_SYSTEM,
    who,
    interaction: 'read',
    route: 'GET /api/v1/{collection}/{id}',
    status: 200,
    clientMrns: clients,
    items: [{ record: 'session/s-1' }],
    now: recorded,
  });
}

describe('the access-audit store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  beforeEach(() => {
    tmp = tempDir();
    store = new SqliteStore(join(tmp.dir, 's.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  test('every list query is an index range, never a scan of the audit', () => {
    const plans = [
      ['SELECT * FROM access_audit WHERE (recorded_ms, seq) > (?, ?) AND recorded_ms < ? ORDER BY recorded_ms, seq LIMIT 10', [0, 0, 1]],
      ['SELECT * FROM access_audit WHERE who = ? AND (recorded_ms, seq) > (?, ?) AND recorded_ms < ? ORDER BY recorded_ms, seq LIMIT 10', ['a', 0, 0, 1]],
      [
        `SELECT a.* FROM access_audit_client c JOIN access_audit a ON a.seq = c.seq
          WHERE c.client_mrn = ? AND (c.recorded_ms, c.seq) > (?, ?) AND c.recorded_ms < ? AND (? IS NULL OR a.who = ?)
          ORDER BY c.recorded_ms, c.seq LIMIT 10`,
        ['m', 0, 0, 1, null, null],
      ],
      ['SELECT seq FROM access_audit WHERE recorded_ms < ? ORDER BY recorded_ms, seq LIMIT 10', [1]],
      ['SELECT client_mrn, recorded_ms, seq FROM access_audit_client WHERE recorded_ms < ? ORDER BY recorded_ms LIMIT 10', [1]],
    ] as const;
    for (const [sql, params] of plans) {
      const plan = (store.db.raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');
      expect(plan).not.toMatch(/SCAN (access_audit|a|c)\b(?! USING)/);
      expect(plan).not.toMatch(/USE TEMP B-TREE/);
      expect(plan).toMatch(/USING (COVERING )?INDEX|USING PRIMARY KEY|USING INTEGER PRIMARY KEY/);
    }
  });

  test('filters by user and client; pages continue where they stopped', async () => {
    const t0 = Date.parse('2026-03-01T00:00:00Z');
    const rows = Array.from({ length: 25 }, (_, i) => entry(i % 2 ? 'alice' : 'bob', new Date(t0 + i * 1000), i % 5 === 0 ? ['MRN-7', 'MRN-8'] : ['MRN-9']));
    await store.accessAudit.appendAccess(rows);
    const alice = await store.accessAudit.listAccess({ who: 'alice', limit: 100 });
    expect(alice.entries).toHaveLength(12);
    const mrn7 = await store.accessAudit.listAccess({ clientMrn: 'MRN-7', limit: 100 });
    expect(mrn7.entries.map((e) => e.id)).toEqual(rows.filter((_, i) => i % 5 === 0).map((e) => e.id));
    expect(mrn7.entries[0].clientMrns.sort()).toEqual(['MRN-7', 'MRN-8']);
    const both = await store.accessAudit.listAccess({ clientMrn: 'MRN-7', who: 'bob', limit: 100 });
    expect(both.entries.map((e) => e.who)).toEqual(['bob', 'bob', 'bob']);
    let cursor: string | undefined;
    const ids: string[] = [];
    do {
      const page = await store.accessAudit.listAccess({ limit: 7, cursor, since: new Date(t0 + 3000), until: new Date(t0 + 20_000) });
      ids.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(rows.slice(3, 20).map((e) => e.id));
    expect((await store.accessAudit.listAccess({ limit: 5, cursor: 'not-a-cursor' })).entries).toEqual([]);

    // Entries of the same millisecond are paged by their sequence: none lost, none twice.
    const same = Array.from({ length: 10 }, () => entry('carol', new Date(t0 + 60_000), []));
    await store.accessAudit.appendAccess(same);
    const carol: string[] = [];
    let c: string | undefined;
    do {
      const page = await store.accessAudit.listAccess({ who: 'carol', limit: 3, cursor: c });
      carol.push(...page.entries.map((e) => e.id));
      c = page.nextCursor;
    } while (c);
    expect(carol).toEqual(same.map((e) => e.id));
  });

  test('retention: entries older than the retention are purged in chunks, newer ones kept', async () => {
    const now = new Date('2032-06-01T00:00:00Z');
    const old = Array.from({ length: 2500 }, (_, i) => entry('old', new Date(now.getTime() - 7 * 365 * 86_400_000 + i), ['MRN-1']));
    const recent = Array.from({ length: 10 }, (_, i) => entry('new', new Date(now.getTime() - 86_400_000 + i), ['MRN-1']));
    await store.accessAudit.appendAccess([...old, ...recent]);
    const calls: number[] = [];
    const counting: AccessAuditStore = {
      appendAccess: (e) => store.accessAudit.appendAccess(e),
      listAccess: (q) => store.accessAudit.listAccess(q),
      purgeAccessBefore: async (before, limit) => {
        const n = await store.accessAudit.purgeAccessBefore(before, limit);
        calls.push(n);
        return n;
      },
    };
    const log = new AccessAuditLog({ store: counting, logger: { error: () => {}, info: () => {} }, retentionDays: 6 * 365, purgeChunk: 1000 });
    try {
      expect(await log.purge(now)).toBe(2500);
      expect(calls).toEqual([1000, 1000, 500]);
      const left = await store.accessAudit.listAccess({ limit: 100 });
      expect(left.entries.map((e) => e.who)).toEqual(Array(10).fill('new'));
      expect((await store.accessAudit.listAccess({ clientMrn: 'MRN-1', limit: 100 })).entries).toHaveLength(10);
      const clientRows = store.db.raw.prepare('SELECT count(*) AS n FROM access_audit_client').get() as { n: number };
      expect(clientRows.n).toBe(10);
    } finally {
      await log.close();
    }
  });

  test('writes are batched: many entries, few transactions; close stores what is queued', async () => {
    let batches = 0;
    const counting: AccessAuditStore = {
      appendAccess: async (e) => {
        batches++;
        await store.accessAudit.appendAccess(e);
      },
      listAccess: (q) => store.accessAudit.listAccess(q),
      purgeAccessBefore: (b, l) => store.accessAudit.purgeAccessBefore(b, l),
    };
    const log = new AccessAuditLog({ store: counting, logger: { error: () => {}, info: () => {} }, retentionDays: 30, flushMs: 10_000, maxBuffer: 1000 });
    // Five bursts of 500 requests, the event loop turning between them (as between requests).
    for (let burst = 0; burst < 5; burst++) {
      for (let i = 0; i < 500; i++) {
        log.record(entry('u', new Date(), []));
      }
      await new Promise((r) => setImmediate(r));
    }
    await log.close();
    expect(batches).toBe(3);
    expect((await store.accessAudit.listAccess({ limit: 5000 })).entries).toHaveLength(2500);
  });
});
