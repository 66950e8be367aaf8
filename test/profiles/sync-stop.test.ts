/**
 * A profile failure stops the record in the real sync: with a mapping that produces an Encounter.class
 * outside v3-ActCode, the session never reaches the FHIR server and its sync state holds the
 * output-invalid OperationOutcome with the FHIR path and what was expected; its participant, valid,
 * goes through.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { loadMappings } from '../../src/mapping/index.js';
import { projectRoot } from '../../src/paths.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { MRN_SYSTEM, NS, records, seedBundle } from '../helpers/fixtures.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

describe('a resource that fails its profile stops its record', () => {
  const tmp = tempDir();
  const root = mkdtempSync(join(tmpdir(), 'sync-stop-'));
  let svc: TestService;
  let worker: SyncWorker;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false', MRN_SYSTEM });
    expect((await svc.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' })).status).toBe(200);
    // A mapping mistake: the modality map's target system is not v3-ActCode any more.
    const dir = join(root, 'mappings');
    cpSync(join(projectRoot(), 'mappings'), dir, { recursive: true });
    const file = join(dir, 'conceptmaps', 'session-modality.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"target": "http://terminology.hl7.org/CodeSystem/v3-ActCode"', '"target": "urn:local:encounter-class"'));
    worker = new SyncWorker({
      store: svc.store,
      target: createKitClientTarget({ name: 'embedded', baseUrl: `${svc.url}/fhir`, bearerToken: () => svc.apiTokens[0], timeoutMs: 10_000 }),
      mappings: loadMappings(dir),
      mappingConfig: { ns: NS, mrnSystem: MRN_SYSTEM },
      logger: svc.logger,
      pollIntervalMs: 100,
      concurrency: 1,
      minBackoffMs: 100,
      maxBackoffMs: 1_000,
      requestTimeoutMs: 10_000,
    });
    worker.start();
  });
  afterAll(async () => {
    await worker.stop();
    await svc.close();
    tmp.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  test('the session is not sent; its state holds every issue with its FHIR path', async () => {
    expect((await svc.api('PUT', '/api/v1/participants/p-001', records.participant)).status).toBe(201);
    expect((await svc.api('PUT', '/api/v1/sessions/s-001', records.session)).status).toBe(201);
    worker.wake();
    const state = await waitFor(async () => {
      const s = (await svc.api('GET', '/api/v1/sessions/s-001')).body.sync?.[0];
      return s && s.state !== 'pending' ? s : undefined;
    });
    expect(state.outcome).toMatchObject({ resourceType: 'OperationOutcome', id: 'output-invalid' });
    expect(state.outcome.issue).toEqual([
      expect.objectContaining({
        severity: 'error',
        expression: ['Encounter.class'],
        details: { text: 'Value did not match expected pattern: expected a Coding from http://terminology.hl7.org/CodeSystem/v3-ActCode (CollateralEncounter)' },
      }),
    ]);
    const encounters = (await svc.api('GET', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-001`)}`)).body;
    expect(encounters.entry ?? []).toEqual([]);
    const related = (await svc.api('GET', `/fhir/RelatedPerson?identifier=${encodeURIComponent(`${NS}/sid/collateral-contact|p-001:MRN-1001`)}`)).body;
    expect(related.entry).toHaveLength(1);
  });
});
