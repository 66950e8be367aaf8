/**
 * The console's API against the real service on the embedded defaults (real store, real FHIR server
 * over HTTP, the sync running): the records listing and its filters and paging, a record's detail
 * (consent decision, FHIR as mapped and as sent with a diff between versions, attempts), masking for
 * the operator role, roles, the remap dry run with a candidate mapping, and the targets' health.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { OPERATOR_TOKEN, PHI, PRIVACY_TOKEN, seed, session, SOURCE_TOKEN, stateOf, testKeysEnv } from './seed.js';

const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('console API', () => {
  const tmp = tempDir();
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_MAX_ATTEMPTS: '2', ...testKeysEnv() });
    await seed(svc);
  }, 180_000);
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('the listing filters by state, kind, reason and client (a header), newest change first', async () => {
    const held = await svc.api('GET', '/api/v1/records?state=held');
    expect(held.status).toBe(200);
    const row = held.body.records.find((r: any) => r.id === 's-held');
    expect(row).toMatchObject({ kind: 'session', state: 'held', reasonCode: 'no-consent', client: 'MRN-1001', target: 'embedded' });
    expect(row.reason).toContain('p-teacher');
    expect(held.body.records.every((r: any) => r.state === 'held')).toBe(true);

    const sessions = await svc.api('GET', '/api/v1/records?kind=session&state=synced');
    expect(sessions.body.records.map((r: any) => r.id)).toEqual(['s-tour']);
    const byReason = await svc.api('GET', '/api/v1/records?reason=no-consent');
    expect(byReason.body.records.map((r: any) => r.id).sort()).toEqual(['p-teacher', 's-held']);

    const all = await svc.api('GET', '/api/v1/records?limit=500');
    const times = all.body.records.map((r: any) => r.updatedAt);
    expect([...times].sort().reverse()).toEqual(times);

    const client = await svc.api('GET', '/api/v1/records', undefined, { 'x-client-mrn': 'MRN-1001' });
    expect(client.body.count).toBeGreaterThanOrEqual(8);
    const other = await svc.api('GET', '/api/v1/records', undefined, { 'x-client-mrn': 'MRN-9999' });
    expect(other.body.count).toBe(0);
    const one = await svc.api('GET', '/api/v1/records?kind=note&id=n-tour');
    expect(one.body.records).toEqual([expect.objectContaining({ kind: 'note', id: 'n-tour', state: 'synced' })]);
  });

  test('pages with a cursor: every row once, in order; a bad cursor or filter is a 400 naming each problem', async () => {
    // Held records are retried (and their state's time changes) while the worker runs: hold it still.
    await svc.worker.stop();
    try {
      const all = (await svc.api('GET', '/api/v1/records?limit=500')).body.records.map((r: any) => `${r.kind}/${r.id}/${r.target}`);
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await svc.api('GET', `/api/v1/records?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.body.records.length).toBeLessThanOrEqual(2);
        paged.push(...page.body.records.map((r: any) => `${r.kind}/${r.id}/${r.target}`));
        cursor = page.body.next;
      } while (cursor);
      expect(paged).toEqual(all);
      expect(all.length).toBeGreaterThan(8);
    } finally {
      svc.worker.start();
    }

    const bad = await svc.api('GET', '/api/v1/records?kind=patient&state=lost&since=yesterday&limit=0&cursor=nonsense', undefined, { 'x-client-mrn': 'MRN 1001!' });
    expect(bad.status).toBe(400);
    const paths = bad.body.issue.map((i: any) => i.expression[0]).sort();
    expect(paths).toEqual(['X-Client-MRN', 'kind', 'limit', 'since', 'state']);
    const badCursor = await svc.api('GET', '/api/v1/records?cursor=bm9wZQ');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.issue[0].expression).toEqual(['cursor']);
  });

  test("a record's detail: consent decision with reasons, FHIR as mapped, as sent with a diff between versions, attempts", async () => {
    const held = (await svc.api('GET', '/api/v1/records/session/s-held')).body;
    expect(held.sync[0]).toMatchObject({ state: 'held', reasonCode: 'no-consent' });
    expect(held.consent[0]).toMatchObject({ target: 'embedded', effect: 'hold' });
    expect(held.consent[0].reasons.join(' ')).toContain('p-teacher');
    expect(held.mapped.status).toBe('mapped');
    expect(held.sent).toEqual([]);

    // A new version of the session: the target keeps both, the detail diffs them.
    await svc.api('PUT', '/api/v1/sessions/s-tour', { ...session, end: '2026-02-01T17:05:00-05:00' });
    await waitFor(async () => (await svc.api('GET', '/api/v1/records?kind=session&id=s-tour')).body.records[0]?.recordVersion === 2 && (await stateOf(svc, 'session', 's-tour')) === 'synced');
    const d = (await svc.api('GET', '/api/v1/records/session/s-tour')).body;
    expect(d).toMatchObject({ kind: 'session', id: 's-tour', version: 2, client: 'MRN-1001', masked: false });
    expect(d.consent[0]).toMatchObject({ effect: 'permit', consentIds: ['c-tour'] });
    expect(d.mapped.resources.map((r: any) => r.resourceType)).toContain('Encounter');
    expect(d.mapped.resources.every((r: any) => r.valid)).toBe(true);
    const encounter = d.sent.find((s: any) => s.resourceType === 'Encounter');
    expect(encounter.current.resourceType).toBe('Encounter');
    expect(encounter.previous.resource.resourceType).toBe('Encounter');
    expect(encounter.diff).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/period/end' })]));
    expect(d.attempts.filter((a: any) => a.outcome === 'success').length).toBeGreaterThanOrEqual(2);

    const dead = (await svc.api('GET', '/api/v1/records/participant/p-dup')).body;
    expect(dead.sync[0].state).toBe('dead-letter');
    expect(dead.sync[0].outcome.resourceType).toBe('OperationOutcome');
    expect(dead.attempts.some((a: any) => a.outcome === 'failure' && a.failure)).toBe(true);

    expect((await svc.api('GET', '/api/v1/records/session/nope')).status).toBe(404);
    expect((await svc.api('GET', '/api/v1/records/patient/x')).status).toBe(400);
  });

  test('an operator sees no PHI: names, contact details, note text and MRNs are masked by the server', async () => {
    const list = await svc.api('GET', '/api/v1/records?limit=500', undefined, as(OPERATOR_TOKEN));
    expect(list.status).toBe(200);
    expect(list.body.masked).toBe(true);
    expect(list.body.records.every((r: any) => /^client-[0-9a-f]{8}$/.test(r.client))).toBe(true);
    for (const [kind, id] of [
      ['participant', 'p-tour-mother'],
      ['note', 'n-tour'],
      ['session', 's-tour'],
      ['participant', 'p-dup'],
      ['participant', 'p-teacher'],
    ]) {
      const d = await svc.api('GET', `/api/v1/records/${kind}/${id}`, undefined, as(OPERATOR_TOKEN));
      expect(d.status).toBe(200);
      expect(d.body.masked).toBe(true);
      const leaked = PHI.filter((v) => d.text.includes(v));
      expect({ record: `${kind}/${id}`, leaked }).toEqual({ record: `${kind}/${id}`, leaked: [] });
    }
    // The same answers carry the PHI for a role with identified access.
    const identified = await svc.api('GET', '/api/v1/records/participant/p-tour-mother', undefined, as(PRIVACY_TOKEN));
    expect(identified.text).toContain('Maria');
    expect(identified.body.masked).toBe(false);
    // One client's rows share one pseudonym, and two clients have two.
    const mrnOf = new Map((await svc.api('GET', '/api/v1/records?limit=500')).body.records.map((r: any) => [`${r.kind}/${r.id}`, r.client]));
    const pseudonyms = new Map<string, Set<string>>();
    for (const r of list.body.records) {
      const mrn = mrnOf.get(`${r.kind}/${r.id}`) as string;
      pseudonyms.set(mrn, (pseudonyms.get(mrn) ?? new Set()).add(r.client));
    }
    expect([...pseudonyms.keys()].sort()).toEqual(['MRN-1001', 'MRN-4040']);
    expect([...pseudonyms.values()].map((p) => p.size)).toEqual([1, 1]);
    expect(new Set([...pseudonyms.values()].flatMap((p) => [...p])).size).toBe(2);
  });

  test('roles decide who may call what (403 naming the roles), and /me says who one is', async () => {
    expect((await svc.api('GET', '/api/v1/me', undefined, as(OPERATOR_TOKEN))).body).toEqual({ name: 'ops-desk', roles: ['operator'], identified: false });
    expect((await svc.api('GET', '/api/v1/me')).body).toEqual({ name: 'local-admin', roles: ['admin'], identified: true });
    const denied = await svc.api('GET', '/api/v1/disclosures', undefined, { ...as(OPERATOR_TOKEN), 'x-client-mrn': 'MRN-1001' });
    expect(denied.status).toBe(403);
    expect(denied.body.issue[0].details.text).toContain('privacy-officer');
    expect((await svc.api('GET', '/api/v1/sync/targets', undefined, as(PRIVACY_TOKEN))).status).toBe(403);
    expect((await svc.api('POST', '/api/v1/$remap', {}, as(PRIVACY_TOKEN))).status).toBe(403);

    const disclosures = await svc.api('GET', '/api/v1/disclosures', undefined, { ...as(PRIVACY_TOKEN), 'x-client-mrn': 'MRN-1001' });
    expect(disclosures.status).toBe(200);
    expect(disclosures.body.disclosures.map((x: any) => x.record.id)).toEqual(expect.arrayContaining(['s-tour', 'n-tour']));
    // The mother's RelatedPerson is disclosed with her own record or with her consent (they may share a Bundle).
    expect(JSON.stringify(disclosures.body.disclosures)).toContain('"resourceType":"RelatedPerson"');
    expect((await svc.api('GET', '/api/v1/disclosures', undefined, as(PRIVACY_TOKEN))).status).toBe(400);
    expect((await svc.api('GET', '/api/v1/records', undefined, as(SOURCE_TOKEN))).body.masked).toBe(false);
  });

  test('remap dry run over HTTP: the deployed mappings change nothing; a candidate mapping shows its changes with diffs', async () => {
    // (Participants only: a session's new version changes its notes' DocumentReference, which the sync
    // does not send again; the remap report shows exactly that, see the report of issue #13.)
    const plain = await svc.api('POST', '/api/v1/$remap', { kind: 'participant' });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ candidate: false, target: 'embedded' });
    expect(plain.body.resources.changed).toBe(0);
    expect(plain.body.resources.unchanged).toBeGreaterThan(0);
    // The dead letter is not on the target yet: "new".
    expect(plain.body.changes.map((c: any) => `${c.status} ${c.recordId}`).sort()).toEqual(['new p-dup', 'new p-nowhere']);

    const deployed = JSON.parse(readFileSync(join(projectRoot(), 'mappings', 'participant.v1.json'), 'utf8'));
    const candidate = structuredClone(deployed);
    candidate.version = `${deployed.version}-try`;
    candidate.resources[0].template.active = false;
    const tried = await svc.api('POST', '/api/v1/$remap', { kind: 'participant', diff: true, mappings: [candidate] });
    expect(tried.status).toBe(200);
    expect(tried.body.candidate).toBe(true);
    const change = tried.body.changes.find((c: any) => c.recordId === 'p-tour-mother');
    expect(change).toMatchObject({ status: 'changed', resourceType: 'RelatedPerson' });
    expect(change.diff).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/active', after: false })]));
    // Nothing was queued: the mother is still synced, with one version.
    expect(await stateOf(svc, 'participant', 'p-tour-mother')).toBe('synced');

    const masked = await svc.api('POST', '/api/v1/$remap', { kind: 'participant', diff: true, mappings: [candidate] }, as(OPERATOR_TOKEN));
    expect(masked.body.masked).toBe(true);
    expect(PHI.filter((v) => masked.text.includes(v))).toEqual([]);

    const broken = await svc.api('POST', '/api/v1/$remap', { mappings: [{ ...candidate, resources: 'none' }], extra: 1 });
    expect(broken.status).toBe(400);
    const paths = broken.body.issue.map((i: any) => i.expression?.[0]);
    expect(paths).toEqual(expect.arrayContaining(['/extra']));
    const invalid = await svc.api('POST', '/api/v1/$remap', { mappings: [{ ...candidate, resources: 'none' }] });
    expect(invalid.body.issue.some((i: any) => String(i.expression?.[0]).startsWith('/mappings/0'))).toBe(true);
  });

  test("the targets' health and the throughput of the last hour", async () => {
    const t = (await svc.api('GET', '/api/v1/sync/targets')).body.targets[0];
    expect(t).toMatchObject({ name: 'embedded', embedded: true, auth: 'internal' });
    expect(t.url).toBe(`${svc.url}/fhir`);
    expect(t.capabilities).toMatchObject({ ok: true, fhirVersion: '4.0.1' });
    expect(t.health.requests).toBeGreaterThan(0);
    expect(t.health.lastStatusClass).toBeDefined();

    const tp = (await svc.api('GET', '/api/v1/sync/throughput?minutes=60&bucket=300')).body;
    expect(tp.buckets.length).toBeGreaterThanOrEqual(12);
    // At least the consent, session and note (the mother's RelatedPerson may go with her consent).
    expect(tp.synced).toBeGreaterThanOrEqual(3);
    expect(tp.failed).toBeGreaterThanOrEqual(1);
    expect(tp.buckets.reduce((a: number, b: any) => a + b.synced, 0)).toBe(tp.synced);
    expect((await svc.api('GET', '/api/v1/sync/throughput?minutes=1')).status).toBe(400);
  });

  test('the latest import jobs, newest first, with their state and committed counts; for source and operator', async () => {
    const job = async (lines: string[]): Promise<string> => {
      const res = await fetch(`${svc.url}/api/v1/import`, {
        method: 'POST',
        headers: { ...as(SOURCE_TOKEN), 'content-type': 'application/x-ndjson', prefer: 'respond-async' },
        body: lines.join('\n'),
      });
      expect(res.status).toBe(202);
      await res.text(); // ends with the job
      return String(res.headers.get('content-location')).split('/').pop() as string;
    };
    const p = (id: string): string => JSON.stringify({ kind: 'participant', record: { id, client: { mrn: 'MRN-1001' }, relationship: 'coach' } });
    const first = await job([p('p-job-1'), p('p-job-2')]);
    const second = await job([p('p-job-3'), '{broken']);
    const list = await svc.api('GET', '/api/v1/import?limit=2', undefined, as(OPERATOR_TOKEN));
    expect(list.status).toBe(200);
    expect(list.body.jobs.map((j: any) => j.id)).toEqual([second, first]);
    expect(list.body.jobs[0]).toMatchObject({ state: 'completed', linesRead: 2, accepted: 1, unchanged: 0, rejected: 1, results: `/api/v1/import/${second}/results` });
    expect(list.body.jobs[1]).toMatchObject({ state: 'completed', linesRead: 2, accepted: 2, rejected: 0 });
    expect((await svc.api('GET', '/api/v1/import?limit=1', undefined, as(SOURCE_TOKEN))).body.jobs).toHaveLength(1);
    expect((await svc.api('GET', '/api/v1/import', undefined, as(PRIVACY_TOKEN))).status).toBe(403);
    const bad = await svc.api('GET', '/api/v1/import?limit=0');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('limit');
  });
});
