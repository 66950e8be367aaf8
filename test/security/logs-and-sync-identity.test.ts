/**
 * With the sync running end to end: the sync reaches the embedded FHIR server with its own internal
 * credential (never an API token); the access log names routes by pattern and never carries an MRN or a
 * record id; LOG_LEVEL=debug adds who called and timings; /.well-known/jwks.json answers on defaults.
 * An import job of a client whose session is held (no consent, no participant yet): the job's lines and
 * the hold's line carry ids and codes only, never the client's MRN.
 */
import { MRN_SYSTEM, records, seedBundle } from '../helpers/fixtures.js';
import { waitFor, waitForState } from '../helpers/service.js';
import { putExampleSession, startSecuredService, type SecuredService } from './helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };

function lines(s: SecuredService): any[] {
  return s.svc
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('the sync\'s identity and the logs, on the real service with the sync running', () => {
  let s: SecuredService;
  beforeAll(async () => {
    s = await startSecuredService({ SYNC_ENABLED: 'true', LOG_LEVEL: 'debug', ACCESS_AUDIT_FLUSH_MS: '50' });
    expect((await s.call('admin', 'POST', '/fhir', JSON.stringify(seedBundle), FHIR)).status).toBe(200);
    await putExampleSession(s);
    await waitForState(s.svc, 'sessions', 's-001', 'synced');
    expect((await s.call('privacy-officer', 'GET', '/api/v1/clients/MRN-1001/disclosures')).status).toBe(200);
    expect((await s.call('fhir-reader', 'GET', `/fhir/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|MRN-1001`)}`)).status).toBe(200);
    // An import job: a session of another client whose participant and consent have not arrived (held).
    const held = { ...records.session, id: 's-900', client: { mrn: 'MRN-2002' }, participants: [{ participantId: 'p-900' }], consentIds: ['c-900'] };
    const job = await s.call('source', 'POST', '/api/v1/import', `${JSON.stringify({ kind: 'session', record: held })}\n`, {
      'content-type': 'application/x-ndjson',
      prefer: 'respond-async',
    });
    expect(job.status).toBe(202);
    await waitFor(async () => lines(s).some((l) => l.message === 'record held' && l.recordId === 's-900'), 20_000, 'the hold is logged');
  });
  afterAll(async () => {
    await s.close();
  });

  test('every FHIR request of the sync carries the internal credential; no API token reaches /fhir but the test\'s own', () => {
    const fhirCalls = lines(s).filter((l) => l.message === 'http detail' && / \/fhir/.test(l.route));
    const bySync = fhirCalls.filter((l) => l.principal === 'sync');
    expect(bySync.length).toBeGreaterThan(3);
    expect(bySync.every((l) => l.via === 'internal' && l.roles.join() === 'fhir-sync' && l.status < 400)).toBe(true);
    const others = fhirCalls.filter((l) => l.principal !== 'sync').map((l) => `${l.principal} ${l.route}`);
    expect(others.sort()).toEqual(['admin-key POST /fhir', 'fhir-reader-key GET /fhir/{type}']);
  });

  test('the sync\'s own requests are not in the access audit (its writes are the accounting of disclosures)', async () => {
    await waitFor(async () => (await s.call('privacy-officer', 'GET', '/api/v1/audit/access?user=fhir-reader-key')).body?.count === 1, 5000, 'audit flush');
    const r = await s.call('privacy-officer', 'GET', '/api/v1/audit/access?user=sync');
    expect(r.body.entries).toEqual([]);
    const disclosures = await s.call('privacy-officer', 'GET', '/api/v1/clients/MRN-1001/disclosures');
    expect(disclosures.body.count).toBeGreaterThan(0);
  });

  test('access log lines name the route pattern, never the path: no MRN, no record id', () => {
    const http = lines(s).filter((l) => l.message === 'http');
    expect(http.length).toBeGreaterThan(10);
    expect(http.every((l) => typeof l.route === 'string' && l.path === undefined)).toBe(true);
    expect(http.map((l) => l.route)).toEqual(expect.arrayContaining(['GET /api/v1/clients/{mrn}/disclosures', 'PUT /api/v1/{collection}/{id}']));
    const all = s.svc.logs();
    expect(all).not.toContain('MRN-1001');
    expect(all).not.toContain('/sessions/s-001');
    expect(all).not.toMatch(/Maria|Lopez|555-0100|improved sleep/);
  });

  test('an import job and a hold are logged by ids and codes: no MRN, no content', () => {
    const all = lines(s);
    const ended = all.find((l) => l.message === 'import job ended');
    expect(ended).toMatchObject({ state: 'completed', linesRead: 1, accepted: 1 });
    expect(typeof ended.jobId).toBe('string');
    const hold = all.find((l) => l.message === 'record held' && l.recordId === 's-900');
    expect(Object.keys(hold).sort()).toEqual(expect.arrayContaining(['kind', 'reason', 'recordId', 'target']));
    expect(typeof hold.reason).toBe('string');
    expect(s.svc.logs()).not.toContain('MRN-2002');
    expect(s.svc.logs()).not.toContain('p-900/');
  });

  test('LOG_LEVEL=debug adds who called, how, the roles, body sizes and timings, still without identifiers', () => {
    const detail = lines(s).find((l) => l.message === 'http detail' && l.route === 'PUT /api/v1/{collection}/{id}');
    expect(detail).toMatchObject({ principal: 'source-key', via: 'api-key', roles: ['source'], status: 201, method: 'PUT' });
    expect(detail.requestBytes).toBeGreaterThan(50);
    expect(detail.responseBytes).toBeGreaterThan(10);
    expect(detail.authorizedMs).toBeGreaterThanOrEqual(0);
    expect(detail.firstByteMs).toBeGreaterThanOrEqual(detail.authorizedMs);
    expect(detail.ms).toBeGreaterThanOrEqual(detail.firstByteMs);
    expect(typeof detail.requestId).toBe('string');
  });

  test('/.well-known/jwks.json answers an empty key set on the defaults, without a token', async () => {
    const r = await s.call('anonymous', 'GET', '/.well-known/jwks.json');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ keys: [] });
  });
});
