/**
 * Import jobs (POST /api/v1/import with `Prefer: respond-async`) under the route table, on the real
 * service: the job's progress is open to sources and the operator (counts only); its per-line results
 * and its cancel belong to the credential that started it, or an admin. Another source gets a 403 that
 * names the rule, never the job's data.
 */
import { startSecuredService, type SecuredService } from './helpers.js';

const NDJSON = { 'content-type': 'application/x-ndjson', prefer: 'respond-async' };
/** Two lines the intake rejects (no PHI needed to exercise the job routes): each has a result line. */
const BODY = `${JSON.stringify({ kind: 'session', record: {} })}\n${JSON.stringify({ kind: 'note', record: {} })}\n`;

describe('import job routes by role and by owner', () => {
  let s: SecuredService;
  let jobPath: string;
  beforeAll(async () => {
    s = await startSecuredService({}, [{ name: 'other-source', roles: ['source'] }]);
    const started = await s.call('source', 'POST', '/api/v1/import', BODY, NDJSON);
    expect(started.status).toBe(202);
    jobPath = started.headers.get('content-location') ?? '';
    expect(jobPath).toMatch(/^\/api\/v1\/import\/[A-Za-z0-9-]+$/);
  });
  afterAll(async () => {
    await s.close();
  });

  test('the job is started by a source only', async () => {
    for (const caller of ['operator', 'analyst', 'fhir-reader', 'privacy-officer'] as const) {
      const r = await s.call(caller, 'POST', '/api/v1/import', BODY, NDJSON);
      expect(r.status).toBe(403);
      expect(r.body.issue[0].details.text).toContain('source');
    }
  });

  test('progress: any source, the operator and admin; no one else', async () => {
    for (const caller of ['source', 'operator', 'admin', 'token:other'] as const) {
      const as = caller === 'token:other' ? (`token:${s.extraTokens['other-source']}` as const) : caller;
      const r = await s.call(as, 'GET', jobPath);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ state: 'completed', linesRead: 2, rejected: 2 });
    }
    for (const caller of ['analyst', 'fhir-reader', 'privacy-officer'] as const) {
      expect((await s.call(caller, 'GET', jobPath)).status).toBe(403);
    }
  });

  test('results: the source that started the job and admin; another source gets 403 and no results', async () => {
    const own = await s.call('source', 'GET', `${jobPath}/results`);
    expect(own.status).toBe(200);
    expect(own.text.trim().split('\n')).toHaveLength(2);
    expect((await s.call('admin', 'GET', `${jobPath}/results`)).status).toBe(200);
    const other = await s.call(`token:${s.extraTokens['other-source']}`, 'GET', `${jobPath}/results`);
    expect(other.status).toBe(403);
    expect(other.body.issue[0].details.text).toContain('started this import job');
    expect(other.text).not.toContain('"line"');
    const operator = await s.call('operator', 'GET', `${jobPath}/results`);
    expect(operator.status).toBe(403);
    expect(operator.body.issue[0].details.text).toContain('source');
  });

  test('cancel: another source and the operator are refused; the owner reaches the job (409: it has ended)', async () => {
    expect((await s.call(`token:${s.extraTokens['other-source']}`, 'DELETE', jobPath)).status).toBe(403);
    expect((await s.call('operator', 'DELETE', jobPath)).status).toBe(403);
    expect((await s.call('source', 'DELETE', jobPath)).status).toBe(409);
    expect((await s.call('admin', 'DELETE', jobPath)).status).toBe(409);
  });
});
