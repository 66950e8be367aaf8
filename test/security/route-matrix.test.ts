/**
 * Route x role: every route of the real app (found by walking express's router stack, so a route added
 * without a route-table entry fails here) is called over HTTP with every role, and the answer must be
 * what the table decides: 403 naming the missing role, or through the guard. A second, independent
 * matrix written from issue #10's role descriptions pins the decisions that matter most, so a wrong
 * table entry fails too. The sync's internal role is checked on the real FHIR router the same way.
 */
import express from 'express';
import request from 'supertest';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { SYNC_PRINCIPAL } from '../../src/auth/internal-credential.js';
import { ROLES, type Role } from '../../src/auth/principal.js';
import { decide, RouteAccess } from '../../src/auth/route-access.js';
import { decodeSegments } from '../../src/auth/route-pattern.js';
import { createEmbeddedFhirServer } from '../../src/fhir-server/index.js';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecuredService, walkRoutes, type SecuredService } from './helpers.js';

const access = new RouteAccess();
const CALLERS = [...ROLES, 'anonymous'] as const;

/** Concrete values for express path parameters. */
const SAMPLE: Record<string, string> = { collection: 'sessions', kind: 'session', id: 's-1', mrn: 'MRN-1', type: 'Patient', jobId: 'job-1' };

function concrete(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, (_m, name: string) => SAMPLE[name] ?? 'x1');
}

/** FHIR interactions the embedded router's catch-all answers (medplum's routes, and the sync's writes). */
const FHIR_SAMPLES: [string, string][] = [
  ['GET', '/fhir'],
  ['GET', '/fhir/_history'],
  ['GET', '/fhir/Patient'],
  ['POST', '/fhir/Patient/_search'],
  ['GET', '/fhir/Patient/_history'],
  ['GET', '/fhir/Patient/p1'],
  ['GET', '/fhir/Patient/p1/_history'],
  ['GET', '/fhir/Patient/p1/_history/1'],
  ['POST', '/fhir/Patient'],
  ['PUT', '/fhir/Patient/p1'],
  ['PUT', '/fhir/Patient?identifier=x'],
  ['DELETE', '/fhir/Patient?identifier=x'],
  ['POST', '/fhir/Encounter'],
  ['PUT', '/fhir/Encounter/e1'],
  ['PATCH', '/fhir/Encounter/e1'],
  ['DELETE', '/fhir/Encounter/e1'],
  ['POST', '/fhir/AuditEvent'],
  ['DELETE', '/fhir/Provenance/pr1'],
  ['POST', '/fhir/Provenance'],
  ['POST', '/fhir'],
];

/** Written from issue #10's roles, independently of the table: [method, path, roles besides admin]. */
const EXPECTED: [string, string, readonly Role[] | 'public' | 'any'][] = [
  ['GET', '/healthz', 'public'],
  ['GET', '/.well-known/jwks.json', 'public'],
  ['PUT', '/api/v1/sessions/s-1', ['source']],
  ['GET', '/api/v1/notes/n-1', ['source']],
  ['POST', '/api/v1/import', ['source']],
  ['POST', '/api/v1/$map', ['source']],
  ['GET', '/api/v1/sync/status', ['operator']],
  ['GET', '/api/v1/sync/dead-letters', ['operator']],
  ['GET', '/api/v1/sync/dead-letters/session/s-1', ['operator']],
  ['POST', '/api/v1/sync/dead-letters/session/s-1/replay', ['operator']],
  ['POST', '/api/v1/sync/dead-letters/replay', ['operator']],
  ['POST', '/api/v1/sync/retry', ['operator']],
  ['GET', '/api/v1/sync/review', ['operator']],
  ['GET', '/api/v1/import/job-1', ['source', 'operator']],
  ['GET', '/api/v1/import/job-1/results', ['source']],
  ['DELETE', '/api/v1/import/job-1', ['source']],
  ['GET', '/metrics', ['operator']],
  ['GET', '/api/v1/clients/MRN-1/disclosures', ['privacy-officer']],
  ['GET', '/api/v1/audit/access', ['privacy-officer']],
  ['POST', '/fhir/$viewdefinition-run', ['analyst', 'privacy-officer']],
  ['GET', '/fhir/$export', ['analyst', 'privacy-officer']],
  ['GET', '/fhir/metadata', 'any'],
  ['GET', '/fhir/Patient', ['fhir-reader']],
  ['GET', '/fhir/Patient/p1', ['fhir-reader']],
  ['POST', '/fhir/Patient/_search', ['fhir-reader']],
  ['GET', '/fhir/Encounter/e1/_history/1', ['fhir-reader']],
  // Writes on the embedded server: admin only (the sync has its own internal credential).
  ['POST', '/fhir/Patient', []],
  ['PUT', '/fhir/Patient/p1', []],
  ['POST', '/fhir/AuditEvent', []],
  ['POST', '/fhir/Encounter', []],
  ['DELETE', '/fhir/Encounter/e1', []],
  ['DELETE', '/fhir/Provenance/pr1', []],
  ['DELETE', '/fhir/Patient?identifier=x', []],
];

function bodyFor(method: string): string | undefined {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined;
}

describe('route x role, through HTTP on the real service', () => {
  let s: SecuredService;
  beforeAll(async () => {
    // Anonymous calls fail authentication on purpose here; the failed-auth limit has its own test.
    s = await startSecuredService({ AUTH_FAILURE_LIMIT: '100000' });
  });
  afterAll(async () => {
    await s.close();
  });

  test('every route of the app has a route-table entry (a new route without one fails here)', () => {
    const { routes, catchAll } = walkRoutes(s.svc.app as never);
    expect(routes.length).toBeGreaterThan(10);
    const missing = routes.filter((r) => access.lookup(r.method, decodeSegments(concrete(r.path).split('?')[0])).kind !== 'match');
    expect(missing).toEqual([]);
    // The FHIR router answers everything under /fhir; its interactions are listed in FHIR_SAMPLES.
    expect(catchAll).toEqual(['/fhir']);
  });

  test.each(CALLERS)('as %s, every route answers as the table decides', async (caller) => {
    const { routes } = walkRoutes(s.svc.app as never);
    const cases = [...routes.map((r) => [r.method, concrete(r.path)] as [string, string]), ...FHIR_SAMPLES];
    const principal = caller === 'anonymous' ? undefined : { name: `${caller}-key`, roles: [caller] };
    const wrong: string[] = [];
    for (const [method, path] of cases) {
      const found = access.lookup(method, decodeSegments(path.split('?')[0]));
      if (found.kind !== 'match') {
        wrong.push(`${method} ${path}: no table entry`);
        continue;
      }
      const d = decide(found.rule, principal);
      const r = await s.call(caller, method, path, bodyFor(method), { 'content-type': 'application/fhir+json' });
      if (!d.allowed) {
        const expected = principal ? 403 : 401;
        if (r.status !== expected) {
          wrong.push(`${method} ${path}: ${r.status}, expected ${expected}`);
        } else if (principal && !/needs the role .*admin/.test(r.body?.issue?.[0]?.details?.text ?? '')) {
          wrong.push(`${method} ${path}: 403 without naming the role`);
        }
      } else if (r.status === 401 || r.status === 403 || r.status >= 500) {
        wrong.push(`${method} ${path}: ${r.status}, expected to pass the guard`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test.each(CALLERS)('as %s, the decisions of issue #10 hold', async (caller) => {
    const wrong: string[] = [];
    for (const [method, path, allowed] of EXPECTED) {
      const r = await s.call(caller, method, path, bodyFor(method), { 'content-type': 'application/fhir+json' });
      const should =
        allowed === 'public' || (caller !== 'anonymous' && (allowed === 'any' || caller === 'admin' || (allowed as readonly string[]).includes(caller)));
      const got = r.status !== 401 && r.status !== 403;
      if (got !== should) {
        wrong.push(`${method} ${path}: ${r.status} (${should ? 'should pass' : 'should be refused'})`);
      }
      if (!should && caller !== 'anonymous') {
        expect(r.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
        const needed = typeof allowed === 'string' ? [] : [...allowed, 'admin'];
        for (const role of needed) {
          expect(r.body.issue[0].details.text).toContain(role);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test('a path in no entry is 404, a known path with another method 405 with Allow, for every role', async () => {
    for (const caller of ROLES) {
      expect((await s.call(caller, 'GET', '/api/v1/nothing/here/at/all')).status).toBe(404);
      const r = await s.call(caller, 'DELETE', '/api/v1/sync/status');
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET');
    }
    // Not even admin reaches medplum's GraphQL endpoint: it is in no entry.
    expect((await s.call('admin', 'POST', '/fhir/$graphql', '{"query":"{ PatientList { id } }"}', { 'content-type': 'application/json' })).status).toBe(404);
  });

  test('no table entry is hidden behind an earlier one', () => {
    for (const rule of access.rules) {
      const segments = rule.pattern.source
        .split('/')
        .filter(Boolean)
        .map((seg) => {
          if (seg === '*') {
            return 'x';
          }
          const m = /^:[A-Za-z]+(?:\((.+)\))?$/.exec(seg);
          if (!m) {
            return seg;
          }
          const re = m[1] ? new RegExp(`^(?:${m[1]})$`) : /./;
          return m[1] && /^[A-Za-z|-]+$/.test(m[1]) ? m[1].split('|')[0] : ['Patient', 'x1', 'MRN-1'].find((c) => re.test(c))!;
        });
      for (const method of rule.methods) {
        const found = access.lookup(method, segments);
        expect(found.kind === 'match' && found.rule.label).toBe(rule.label);
      }
    }
  });
});

test('a route added without a table entry is found by the walk, and unreachable meanwhile', async () => {
  const tmp = tempDir();
  const store = new SqliteStore(`${tmp.dir}/store.sqlite`);
  const extra = express.Router();
  extra.get('/secret-report', (_req, res) => {
    res.json({ leaked: true });
  });
  const app = createApp({
    logger: createLogger('error'),
    apiTokens: ['admin-token-0123456789abcdef'],
    intake: { store, targets: ['t'] },
    store,
    bodyLimitBytes: 1024,
    importLimitBytes: 1024,
    apiRouters: [extra],
  });
  try {
    const unlisted = walkRoutes(app as never).routes.filter((r) => access.lookup(r.method, decodeSegments(concrete(r.path))).kind !== 'match');
    expect(unlisted).toEqual([{ method: 'GET', path: '/api/v1/secret-report' }]);
    const r = await request(app).get('/api/v1/secret-report').set('Authorization', 'Bearer admin-token-0123456789abcdef');
    expect(r.status).toBe(404);
    expect(r.text).not.toContain('leaked');
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

describe('the sync\'s internal role on the real FHIR router', () => {
  const tmp = tempDir();
  const store = new SqliteStore(`${tmp.dir}/store.sqlite`);
  const fhir = createEmbeddedFhirServer({ dbPath: `${tmp.dir}/fhir.sqlite`, baseUrl: () => 'http://localhost/fhir' });
  const SYNC_TOKEN = 'internal-sync-token-for-this-test-only';
  const app: express.Express = createApp({
    logger: createLogger('error'),
    apiTokens: [],
    authenticator: createAuthenticator({ adminTokens: ['admin-token-0123456789abcdef'], internal: [{ token: SYNC_TOKEN, principal: SYNC_PRINCIPAL }] }),
    intake: { store, targets: ['embedded'] },
    store,
    bodyLimitBytes: 1 << 20,
    importLimitBytes: 1 << 20,
    fhirRouter: fhir.router,
  });
  const asSync = (r: request.Test): request.Test => r.set('Authorization', `Bearer ${SYNC_TOKEN}`).set('Content-Type', 'application/fhir+json');
  afterAll(async () => {
    fhir.close();
    await store.close();
    tmp.cleanup();
  });

  test('reads, searches and writes the types it maps to', async () => {
    expect((await asSync(request(app).get('/fhir/metadata'))).status).toBe(200);
    expect((await asSync(request(app).get('/fhir/Patient?identifier=x|y'))).status).toBe(200);
    const enc = await asSync(request(app).post('/fhir/Encounter')).send(
      JSON.stringify({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } })
    );
    expect(enc.status).toBe(201);
    const tx = await asSync(request(app).post('/fhir')).send(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { ...enc.body, status: 'cancelled' }, request: { method: 'PUT', url: `Encounter/${enc.body.id}` } }],
      })
    );
    expect(tx.status).toBe(200);
  });

  test('may not delete, write Patients or AuditEvents, or slip them into a transaction', async () => {
    expect((await asSync(request(app).delete('/fhir/Encounter/x'))).status).toBe(403);
    expect((await asSync(request(app).post('/fhir/Patient')).send('{"resourceType":"Patient"}')).status).toBe(403);
    expect((await asSync(request(app).post('/fhir/AuditEvent')).send('{"resourceType":"AuditEvent"}')).status).toBe(403);
    expect((await asSync(request(app).delete('/fhir/Patient?identifier=a|b'))).status).toBe(403);
    expect((await asSync(request(app).get('/api/v1/sync/status'))).status).toBe(403);
    const tx = await asSync(request(app).post('/fhir')).send(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } }, request: { method: 'POST', url: 'Encounter' } },
          { request: { method: 'DELETE', url: 'Provenance/p1' } },
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        ],
      })
    );
    expect(tx.status).toBe(403);
    const text = tx.body.issue[0].details.text as string;
    expect(text).toContain('Bundle.entry[1]');
    expect(text).toContain('Bundle.entry[2]');
    expect(text).not.toContain('Bundle.entry[0]');
    // Nothing of the refused transaction was written.
    const found = await asSync(request(app).get('/fhir/Encounter?status=finished'));
    expect(found.body.total ?? found.body.entry?.length ?? 0).toBe(0);
  });
});
