/**
 * GET /readyz and the intake gate on the real service: ready on the embedded defaults with the
 * target's CapabilityStatement read; a target out of reach is reported with the reason but leaves the
 * intake ready; migrations not applied make it unready; once intake closes (shutdown) readiness and
 * every write answer 503 with Retry-After, while reads, dry runs and the embedded FHIR server go on.
 */
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { startHangingTarget } from './hanging-target.js';

describe('readiness', () => {
  test('on the embedded defaults: ready, the target read, no token needed', async () => {
    const tmp = tempDir();
    const svc = await startTestService(tmp.dir);
    try {
      const res = await fetch(`${svc.url}/readyz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.status).toBe('ready');
      expect(body.checks).toMatchObject({ store: { ok: true }, migrations: { ok: true }, intake: { ok: true }, target: { ok: true, fhirVersion: '4.0.1' } });
      expect(Date.parse(body.checks.target.readAt)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await svc.close();
      tmp.cleanup();
    }
  });

  test('a target that refuses connections or does not answer is reported with why; the intake stays ready', async () => {
    const tmp = tempDir();
    const hanging = await startHangingTarget();
    const svc = await startTestService(tmp.dir, { FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', FHIR_REQUEST_TIMEOUT_MS: '2000' });
    const slow = await startTestService(`${tmp.dir}/slow`, { FHIR_BASE_URL: hanging.url, FHIR_REQUEST_TIMEOUT_MS: '60000', SYNC_ENABLED: 'false' });
    try {
      const refused = (await (await fetch(`${svc.url}/readyz`)).json()) as any;
      expect(refused.status).toBe('ready-target-unavailable');
      expect(refused.checks.target.ok).toBe(false);
      expect(refused.checks.target.reason).toMatch(/ECONNREFUSED|connection/i);
      const res = await fetch(`${slow.url}/readyz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.checks.target).toMatchObject({ ok: false, reason: 'the target did not answer within 3 s' });
    } finally {
      await svc.close();
      await slow.close();
      await hanging.close();
      tmp.cleanup();
    }
  });

  test('a migration not applied makes the store unready, naming it', async () => {
    const tmp = tempDir();
    const store = new SqliteStore(join(tmp.dir, 'collateral.sqlite'));
    try {
      expect(await store.status.probe()).toEqual({ reachable: true, migrationsPending: [] });
      store.db.raw.prepare("DELETE FROM schema_migrations WHERE id = '0007-console-record-state-indexes'").run();
      expect(await store.status.probe()).toEqual({ reachable: true, migrationsPending: ['0007-console-record-state-indexes'] });
      await store.close();
      expect(await store.status.probe()).toEqual({ reachable: false, migrationsPending: [] });
    } finally {
      tmp.cleanup();
    }
  });
});

describe('the intake gate', () => {
  const tmp = tempDir();
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService(tmp.dir);
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('closed: writes answer 503 with Retry-After and an OperationOutcome; reads, dry runs and /fhir go on; readiness says stopping', async () => {
    const p = { id: 'p-gate', client: { mrn: 'MRN-1001' }, relationship: 'coach' };
    expect((await svc.api('PUT', '/api/v1/participants/p-gate', p)).status).toBe(201);
    svc.intakeGate.close();

    const res = await fetch(`${svc.url}/api/v1/participants/p-gate2`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...p, id: 'p-gate2' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('10');
    const outcome = (await res.json()) as any;
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', id: 'unavailable', issue: [{ code: 'transient' }] });
    expect(outcome.issue[0].details.text).toContain('stopping');
    expect(await svc.store.records.getRecord('participant', 'p-gate2')).toBeUndefined();

    expect((await svc.api('POST', '/api/v1/import', '{}', { 'content-type': 'application/x-ndjson' })).status).toBe(503);
    expect((await svc.api('POST', '/api/v1/sync/retry', {})).status).toBe(503);
    expect((await svc.api('POST', '/api/v1/sync/dead-letters/replay', { all: true })).status).toBe(503);

    expect((await svc.api('GET', '/api/v1/participants/p-gate')).status).toBe(200);
    expect((await svc.api('POST', '/api/v1/$map?kind=participant', p)).status).toBe(200);
    expect((await svc.api('GET', '/fhir/metadata')).status).toBe(200);
    const fhirWrite = await svc.api('POST', '/fhir/Practitioner', JSON.stringify({ resourceType: 'Practitioner', active: true }), { 'content-type': 'application/fhir+json' });
    expect(fhirWrite.status).toBe(201);

    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).status).toBe('stopping');
  });
});
