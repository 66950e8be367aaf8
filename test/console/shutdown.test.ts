/**
 * Shutdown (SIGTERM): intake stops at once (503 with Retry-After), a send still in flight is waited
 * for SYNC_SHUTDOWN_GRACE_MS and then abandoned safely (the record stays queued and goes once after
 * the restart), and the process exits within 10 s. Against a write the EHR applied but never answered
 * (the outcome is unknown), and a target that never answers at all.
 */
import { jest } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startFaultProxy } from '../../src/devtools/fault-proxy.js';
import { projectRoot } from '../../src/paths.js';
import { startFhirTarget } from '../helpers/fhir-target.js';
import { startTestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { startHangingTarget } from './hanging-target.js';

const TOKEN = 'shutdown-test-token-0123456789';
/** SYNC_SHUTDOWN_GRACE_MS: how long close() lets sends in flight finish. */
const GRACE_MS = 5_000;
const participant = { id: 'p-stop', client: { mrn: 'MRN-1001' }, relationship: 'coach', name: { given: ['Sam'], family: 'Stop' } };
const consent = {
  id: 'c-stop',
  client: { mrn: 'MRN-1001' },
  status: 'active',
  recipients: ['p-stop'],
  actions: ['disclose'],
  purposes: ['treatment'],
  dataClasses: ['attendance'],
  period: { start: '2026-01-01', end: '2099-12-31' },
  signedAt: '2026-01-02T10:00:00Z',
  legalBasis: 'hipaa-authorization',
};

jest.setTimeout(240_000);

describe('shutdown', () => {
  test('close(): a write applied by the EHR but never answered is abandoned after the grace period, safely: after a restart the record is there once', async () => {
    const tmp = tempDir();
    const ehr = await startFhirTarget('full', join(tmp.dir, 'ehr'));
    await ehr.seed([{ resourceType: 'Patient', identifier: [{ system: 'https://fhir.example-hospital.org/sid/mrn', value: 'MRN-1001' }] }]);
    // Reads pass; every write reaches the EHR and is applied, and its answer never comes (the worst
    // case: the sync cannot know whether it landed).
    const proxy = await startFaultProxy({ target: ehr.url, seed: 1, rates: { 'timeout-after-forward': 1 }, applies: (method) => method === 'POST' || method === 'PUT' });
    const env = { FHIR_BASE_URL: proxy.url, FHIR_REQUEST_TIMEOUT_MS: '60000', SYNC_SHUTDOWN_GRACE_MS: String(GRACE_MS) };
    try {
      const svc = await startTestService(join(tmp.dir, 'svc'), env);
      await svc.api('PUT', '/api/v1/consents/c-stop', consent);
      await svc.api('PUT', '/api/v1/participants/p-stop', participant);
      await waitFor(async () => proxy.stats().injected['timeout-after-forward'] > 0, 60_000, 'a write to hang');
      const started = Date.now();
      await svc.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(took).toBeLessThan(10_000);
      expect(svc.logs()).toContain('sends still in flight at shutdown were abandoned');

      // The write had landed (only its answer was lost): the retry after the restart must not repeat it.
      const contact = ['RelatedPerson', 'https://fhir.example-practice.org/sid/collateral-contact', 'p-stop:MRN-1001'] as const;
      expect(await ehr.countByIdentifier(...contact)).toBe(1);
      // The EHR answers again: after the restart the record is synced, and exists there once.
      proxy.setRates({});
      const again = await startTestService(join(tmp.dir, 'svc'), env);
      try {
        await waitFor(async () => (await again.store.status.getSyncStates('participant', 'p-stop'))[0]?.state === 'synced', 90_000, 'p-stop to be synced after the restart');
        expect(await ehr.countByIdentifier(...contact)).toBe(1);
      } finally {
        await again.close();
      }
    } finally {
      await proxy.close();
      await ehr.close();
      tmp.cleanup();
    }
  });

  test('SIGTERM: writes answer 503 with Retry-After at once, and the process exits within 10 s with a send hanging', async () => {
    const tmp = tempDir();
    const hanging = await startHangingTarget();
    // The real entry point, bundled in a moment (esbuild) instead of compiled with tsc.
    const outDir = join(projectRoot(), '.tmp', 'console-shutdown');
    mkdirSync(outDir, { recursive: true });
    const mainJs = join(outDir, 'main.mjs');
    await build({ entryPoints: [join(projectRoot(), 'src', 'main.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: mainJs, logLevel: 'error' });
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [mainJs], {
        env: { ...process.env, PORT: '0', DATA_DIR: tmp.dir, API_TOKENS: TOKEN, FHIR_BASE_URL: hanging.url, FHIR_REQUEST_TIMEOUT_MS: '60000', SYNC_SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
      const url = await waitFor(async () => /"url":"([^"]+)"[^\n]*collateral-fhir started|collateral-fhir started[^\n]*"url":"([^"]+)"/.exec(out)?.slice(1).find(Boolean), 120_000, 'the service to start');
      const put = (path: string, body: unknown): Promise<Response> =>
        fetch(`${url}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await put('/api/v1/consents/c-stop', consent)).status).toBe(201);
      expect((await put('/api/v1/participants/p-stop', participant)).status).toBe(201);
      await waitFor(async () => hanging.requests.length > 0, 60_000, 'a request to the target');

      const signalled = Date.now();
      child.kill('SIGTERM');
      await waitFor(async () => out.includes('"stopping"') || out.includes('stopping'), 5_000, 'the stop to begin');
      const refused = await put('/api/v1/participants/p-late', { ...participant, id: 'p-late' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('10');
      const code = await exited;
      const took = Date.now() - signalled;
      expect(took).toBeLessThan(10_000);
      expect(code).toBe(0);
      expect(out).toContain('sends still in flight at shutdown were abandoned');
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await hanging.close();
      tmp.cleanup();
    }
  });
});
