/**
 * The job machinery over real HTTP and a real embedded store: a job caught in progress (202, X-Progress,
 * Retry-After), cancelled while it runs, interrupted by a stop and by a crash (failed with the reason at
 * the next start), the queue limit, and who may do what (roles, owners, identified output and its hook).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobStore } from '../../src/exports/job-store.js';
import type { IdentifiedAccessEvent } from '../../src/exports/index.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC } from './helpers.js';
import { ADMIN, ALICE, BOB, OFFICER, SOURCE, sampleResources, seedStore, startHarness, type Harness } from './harness.js';

let tmp: ReturnType<typeof tempDir>;
let h: Harness | undefined;

beforeEach(async () => {
  tmp = tempDir('export-jobs-');
  await seedStore(tmp.dir, sampleResources());
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  tmp.cleanup();
});

async function kickOff(harness: Harness, path = '/fhir/$export?_type=Patient,Encounter', principal = ALICE): Promise<string> {
  const r = await harness.api('GET', path, principal, undefined, ASYNC);
  expect(r.status).toBe(202);
  return r.headers.get('content-location') as string;
}

const jobIdOf = (location: string): string => location.split('/').pop() as string;

test('a running job answers 202 with X-Progress and Retry-After, then 200 with the manifest', async () => {
  h = await startHarness(tmp.dir, { gated: true });
  const location = await kickOff(h);
  await h.gate?.reached;
  const running = await h.api('GET', location);
  expect(running.status).toBe(202);
  expect(running.headers.get('retry-after')).toBe('2');
  expect(running.headers.get('x-progress')).toMatch(/^0% \(type 1 of 2: Patient\), \d+ resources read$/);
  h.gate?.open();
  const done = await waitFor(async () => {
    const r = await h?.api('GET', location);
    return r?.status === 200 ? r : undefined;
  });
  expect(done.body.output.map((o: any) => [o.type, o.count])).toEqual([
    ['Patient', 2],
    ['Encounter', 6],
  ]);
});

test('DELETE while running stops the job and deletes it; nothing reappears', async () => {
  h = await startHarness(tmp.dir, { gated: true });
  const location = await kickOff(h);
  await h.gate?.reached;
  expect((await h.api('DELETE', location)).status).toBe(202);
  expect((await h.api('GET', location)).status).toBe(404);
  expect(existsSync(join(tmp.dir, 'exports', jobIdOf(location)))).toBe(false);
  h.gate?.open();
  await new Promise((r) => setTimeout(r, 100));
  expect(existsSync(join(tmp.dir, 'exports', jobIdOf(location)))).toBe(false);
  expect(h.gate?.yielded).toBe(1); // the stream stopped at the cancel
});

test('a stop mid-job marks it failed with the reason; after the restart the status says so (500) and the partial files are gone', async () => {
  h = await startHarness(tmp.dir, { gated: true });
  const location = await kickOff(h);
  await h.gate?.reached;
  await h.close();
  h = await startHarness(tmp.dir);
  const after = await h.api('GET', location.replace(/^http:\/\/[^/]+/, h.url));
  expect(after.status).toBe(500);
  expect(after.body.issue[0]).toMatchObject({ code: 'exception', details: { text: expect.stringMatching(/interrupted: the service stopped while this job ran; kick off the export again/) } });
  expect(readdirSync(join(tmp.dir, 'exports', jobIdOf(location)))).toEqual(['status.json']);
});

test('after a crash (status left in progress, a partial file on disk) the next start marks the job failed', async () => {
  const store = new JobStore(join(tmp.dir, 'exports'));
  const now = new Date().toISOString();
  store.save({ id: 'crashed-job', kind: 'bulk', state: 'in-progress', owner: 'alice', identified: false, request: 'x', createdAt: now, transactionTime: now, params: {}, outputs: [] });
  writeFileSync(join(store.dir('crashed-job'), 'Patient.ndjson'), '{"resourceType":"Patient"}\n');
  h = await startHarness(tmp.dir);
  const r = await h.api('GET', '/fhir/_export/crashed-job');
  expect(r.status).toBe(500);
  expect(r.body.issue[0].details.text).toMatch(/interrupted: the service restarted while this job was in-progress/);
  expect(readdirSync(store.dir('crashed-job'))).toEqual(['status.json']);
});

test('too many waiting jobs: 429 with Retry-After', async () => {
  h = await startHarness(tmp.dir, { gated: true, maxQueued: 1 });
  await kickOff(h); // running, held at the gate
  await h.gate?.reached;
  await kickOff(h); // waiting
  const third = await h.api('GET', '/fhir/$export', ALICE, undefined, ASYNC);
  expect(third.status).toBe(429);
  expect(third.headers.get('retry-after')).toBe('30');
});

describe('who may do what', () => {
  const events: IdentifiedAccessEvent[] = [];

  test('the analyst gets de-identified output only; identified output needs privacy-officer or admin', async () => {
    h = await startHarness(tmp.dir, { onIdentifiedAccess: (e) => void events.push(e) });
    await kickOff(h, '/fhir/$export?_type=Patient', ALICE);
    const refused = await h.api('GET', '/fhir/$export?deidentify=false', ALICE, undefined, ASYNC);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].details.text).toMatch(/identified output .* needs the privacy-officer or admin role; "alice" has analyst/);
    const source = await h.api('GET', '/fhir/$export', SOURCE, undefined, ASYNC);
    expect(source.status).toBe(403);
    expect(source.body.issue[0].details.text).toMatch(/exports need the analyst role .* "ehr-feed" has source/);
    expect(events).toEqual([]);
    const identified = await kickOff(h, '/fhir/$export?_type=Patient&deidentify=false', OFFICER);
    expect(events).toEqual([{ who: 'olga', action: '$export', types: ['Patient'], jobId: jobIdOf(identified) }]);
  });

  test('a job is its owner\'s: others get 404, an admin may look; an identified job stays closed to an analyst', async () => {
    h = await startHarness(tmp.dir);
    const mine = await kickOff(h, '/fhir/$export?_type=Patient', ALICE);
    await waitFor(async () => (await h?.api('GET', mine, ALICE))?.status === 200);
    expect((await h.api('GET', mine, BOB)).status).toBe(404);
    expect((await h.api('DELETE', mine, BOB)).status).toBe(404);
    expect((await h.api('GET', mine, ADMIN)).status).toBe(200);
    const manifest = (await h.api('GET', mine, ALICE)).body;
    expect((await h.api('GET', manifest.output[0].url, BOB)).status).toBe(404);
    expect((await h.api('GET', manifest.output[0].url, ALICE)).status).toBe(200);
    const identified = await kickOff(h, '/fhir/$export?_type=Patient&deidentify=false', OFFICER);
    await waitFor(async () => (await h?.api('GET', identified, OFFICER))?.status === 200);
    expect((await h.api('GET', identified, { name: 'olga', roles: ['analyst'] })).status).toBe(404);
  });

  test('when the identified access cannot be recorded, nothing is exported', async () => {
    h = await startHarness(tmp.dir, {
      onIdentifiedAccess: () => {
        throw new Error('audit store down');
      },
    });
    const r = await h.api('GET', '/fhir/$export?deidentify=false', OFFICER, undefined, ASYNC);
    expect(r.status).toBe(500);
    expect(r.text).not.toContain('audit store down');
    expect(readdirSync(join(tmp.dir, 'exports'))).toEqual([]);
  });
});
