/**
 * The copy of what was sent to an external target (issue #11 item 2), end to end: the real service
 * syncs the demo dataset (with canary values) to a separately started embedded FHIR server through
 * FHIR_BASE_URL; its own /fhir then serves, read-only, the last version of every resource the target
 * confirmed, as the target holds it, and views and exports run over it. Then a restart with the target
 * gone still serves the copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Encounter, Resource } from '@medplum/fhirtypes';
import { projectRoot } from '../../src/paths.js';
import { LOCAL_COPY_SOFTWARE } from '../../src/local-copy/index.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC, CANARY, demoLines, pollUntilDone, startExportService, type ExportService } from '../exports/helpers.js';

const LONG = 180_000;
const NS = 'https://fhir.example-practice.org';
const COLLECTION: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };
const seed = JSON.parse(readFileSync(join(projectRoot(), 'examples', 'fhir-seed.json'), 'utf8')) as Bundle;

interface SyncView {
  state: string;
  resources?: { resourceType: string; id: string; versionId: string; identifier: string }[];
}

const tmp = tempDir('local-copy-');
let target: FhirTarget;
let targetClosed = false;
let svc: ExportService;
/** Every demo record: its API path and its state on the target. */
let records: { kind: string; id: string; path: string; sync: SyncView }[] = [];

async function readRecords(s: ExportService): Promise<typeof records> {
  return Promise.all(
    records.map(async (r) => ({ ...r, sync: ((await s.api('GET', r.path)).body.sync as SyncView[])[0] }))
  );
}

/** The target's current version of a resource (its admin side: the same data, no profile). */
async function onTarget(type: string, id: string): Promise<Resource> {
  const res = await fetch(`${target.adminUrl}/${type}/${id}`, { headers: { accept: 'application/fhir+json' } });
  expect(res.status).toBe(200);
  // Parsed here (Response.json() builds its objects in another realm, which toStrictEqual tells apart).
  return JSON.parse(await res.text()) as Resource;
}

beforeAll(async () => {
  target = await startFhirTarget('full', join(tmp.dir, 'ehr'));
  await target.seed((seed.entry ?? []).map((e) => e.resource as Resource));
  svc = await startExportService(join(tmp.dir, 'svc'), {}, { FHIR_BASE_URL: target.url, SYNC_POLL_INTERVAL_MS: '100' });
  const imported = await svc.api('POST', '/api/v1/import', demoLines(true), { 'content-type': 'application/x-ndjson' });
  expect(imported.body).toMatchObject({ rejected: 0 });
  records = (imported.body.results as { kind: string; id: string }[]).map((r) => ({ ...r, path: `/api/v1/${COLLECTION[r.kind]}/${r.id}`, sync: { state: 'pending' } }));
  await waitFor(async () => {
    records = await readRecords(svc);
    return records.every((r) => r.sync.state !== 'pending');
  }, 90_000, 'the demo records to leave pending');
}, LONG);

afterAll(async () => {
  await svc?.close();
  if (!targetClosed) {
    await target?.close();
  }
  tmp.cleanup();
}, LONG);

test('GET /fhir/metadata: a CapabilityStatement of the copy, read and search-type only', async () => {
  const r = await svc.api('GET', '/fhir/metadata');
  expect(r.status).toBe(200);
  expect(r.body.software.name).toBe(LOCAL_COPY_SOFTWARE);
  expect(r.body.implementation.description).toContain(target.url);
  const rest = r.body.rest[0];
  expect(rest.interaction).toBeUndefined();
  const encounter = rest.resource.find((x: any) => x.type === 'Encounter');
  expect(encounter.interaction).toEqual([{ code: 'read' }, { code: 'search-type' }]);
  expect(encounter.searchParam.map((p: any) => p.name)).toContain('identifier');
  expect(rest.operation.map((o: any) => o.name)).toEqual(expect.arrayContaining(['viewdefinition-run', 'viewdefinition-export', 'export']));
});

test('every resource a synced record became is in the copy exactly as the target holds it (id, versionId, lastUpdated, content)', async () => {
  const synced = records.filter((r) => r.sync.state === 'synced');
  expect(synced.length).toBeGreaterThan(30);
  let checked = 0;
  for (const r of synced) {
    for (const res of r.sync.resources ?? []) {
      const copy = await svc.api('GET', `/fhir/${res.resourceType}/${res.id}`);
      expect(copy.status).toBe(200);
      expect(copy.body.meta.versionId).toBe(res.versionId);
      expect(copy.headers.get('etag')).toBe(`W/"${res.versionId}"`);
      expect(copy.body).toStrictEqual(await onTarget(res.resourceType, res.id));
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(30);
});

test('the Provenances the sync wrote are in the copy too', async () => {
  const onEhr = await target.search('Provenance');
  expect(onEhr.length).toBeGreaterThan(0);
  const copy = await svc.api('GET', '/fhir/Provenance?_count=1000');
  expect(copy.status).toBe(200);
  expect(copy.body.entry.map((e: any) => `${e.resource.id}@${e.resource.meta.versionId}`).sort()).toEqual(onEhr.map((p) => `${p.id}@${p.meta?.versionId}`).sort());
});

test('search on /fhir answers from the copy with the target’s ids, as the embedded server searches', async () => {
  const [enc] = (await target.search('Encounter', { identifier: `${NS}/sid/session|s-1001-01` })) as Encounter[];
  const r = await svc.api('GET', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-1001-01`)}`);
  expect(r.status).toBe(200);
  expect(r.body.resourceType).toBe('Bundle');
  expect(r.body.total).toBe(1);
  expect(r.body.entry[0].resource.id).toBe(enc.id);
  expect(r.body.entry[0].resource.meta.versionId).toBe(enc.meta?.versionId);
  expect(r.body.entry[0].fullUrl).toBe(`${svc.url}/fhir/Encounter/${enc.id}`);
  // Search by reference, and POST Type/_search, as on the embedded server.
  const byPatient = await svc.api('GET', `/fhir/Encounter?subject=${encodeURIComponent(enc.subject?.reference ?? '')}&_count=100`);
  expect(byPatient.body.total).toBe((await target.search('Encounter', { subject: enc.subject?.reference ?? '' })).length);
  const form = await fetch(`${svc.url}/fhir/Encounter/_search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ identifier: `${NS}/sid/session|s-1001-01` }).toString(),
  });
  expect(form.status).toBe(200);
  expect(((await form.json()) as Bundle).total).toBe(1);
});

test('nothing blocked by consent, held, or kept local is in the copy', async () => {
  const notSent = records.filter((r) => r.sync.state !== 'synced');
  // The demo's psychotherapy note and revoked employer consent are kept local; the employer's session is held.
  expect(notSent.map((r) => r.id)).toEqual(expect.arrayContaining(['n-1002-03', 'c-1003-employer', 's-1003-02']));
  const identifier: Record<string, (id: string, mrn?: string) => [string, string]> = {
    note: (id) => ['DocumentReference', `${NS}/sid/note|${id}`],
    consent: (id) => ['Consent', `${NS}/sid/roi|${id}`],
    session: (id) => ['Encounter', `${NS}/sid/session|${id}`],
  };
  for (const r of notSent.filter((x) => identifier[x.kind])) {
    const [type, value] = identifier[r.kind](r.id);
    const found = await svc.api('GET', `/fhir/${type}?identifier=${encodeURIComponent(value)}`);
    expect({ id: r.id, total: found.body.total }).toEqual({ id: r.id, total: 0 });
  }
  // The copy holds nothing the target does not: each of its resources is the target's current version.
  for (const type of ['Encounter', 'DocumentReference', 'Consent', 'RelatedPerson']) {
    const copy = await svc.api('GET', `/fhir/${type}?_count=1000`);
    const ehr = await target.search(type);
    expect(copy.body.entry?.map((e: any) => e.resource.id).sort() ?? []).toEqual(ehr.map((x) => x.id).sort());
  }
});

test('writes answer 405 with an OperationOutcome naming the read-only copy and its target; history too', async () => {
  const [enc] = await target.search('Encounter', { identifier: `${NS}/sid/session|s-1001-02` });
  const body = { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } };
  const bundle = (type: string) => ({ resourceType: 'Bundle', type, entry: [{ resource: body, request: { method: 'POST', url: 'Encounter' } }] });
  const attempts: [string, string, unknown][] = [
    ['POST', '/fhir/Encounter', body],
    ['PUT', `/fhir/Encounter/${enc.id}`, { ...body, id: enc.id }],
    ['PUT', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-1001-02`)}`, body],
    ['PATCH', `/fhir/Encounter/${enc.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }]],
    ['DELETE', `/fhir/Encounter/${enc.id}`, undefined],
    ['POST', '/fhir', bundle('transaction')],
    ['POST', '/fhir', bundle('batch')],
  ];
  for (const [method, path, b] of attempts) {
    const r = await svc.api(method, path, b, method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : {});
    expect({ method, path, status: r.status }).toEqual({ method, path, status: 405 });
    expect(r.headers.get('allow')).toBe('GET');
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.body.issue[0].details.text).toContain(`read-only copy of what was sent to ${target.url}`);
  }
  const history = await svc.api('GET', `/fhir/Encounter/${enc.id}/_history`);
  expect(history.status).toBe(405);
  expect(history.body.issue[0].details.text).toContain('without history');
  // Nothing changed, in the copy or on the target.
  expect((await svc.api('GET', `/fhir/Encounter/${enc.id}`)).body).toEqual(enc);
  expect(await onTarget('Encounter', enc.id as string)).toEqual(enc);
});

test('$viewdefinition-run with viewReference runs over the copy, de-identified by default', async () => {
  const res = await fetch(`${svc.url}/fhir/$viewdefinition-run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [
        { name: 'viewReference', valueReference: { reference: 'ViewDefinition/collateral_sessions' } },
        { name: '_format', valueCode: 'json' },
      ],
    }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  const rows = JSON.parse(text) as Record<string, unknown>[];
  expect(rows).toHaveLength((await target.search('Encounter')).length);
  for (const leak of ['MRN-1001', 'MRN-1002', CANARY.family, CANARY.phone, ...(await target.search('Encounter')).map((e) => e.id as string)]) {
    expect(text).not.toContain(leak);
  }
});

test('$export over the copy: kick-off, progress, manifest, de-identified NDJSON, DELETE', async () => {
  const kick = await svc.api('GET', '/fhir/$export?_type=Encounter,DocumentReference', undefined, ASYNC);
  expect(kick.status).toBe(202);
  const location = kick.headers.get('content-location') as string;
  const { final } = await pollUntilDone(svc, location);
  expect(final.status).toBe(200);
  const byType = Object.fromEntries((final.body.output as { type: string; url: string; count?: number }[]).map((o) => [o.type, o]));
  expect(Object.keys(byType).sort()).toEqual(['DocumentReference', 'Encounter']);
  const file = await svc.api('GET', byType.DocumentReference.url);
  expect(file.status).toBe(200);
  const lines = file.text.trim().split('\n').map((l) => JSON.parse(l) as Resource);
  expect(lines).toHaveLength((await target.search('DocumentReference')).length);
  // De-identified by default: note text (base64 attachments) removed, MRNs and the canary name gone.
  expect(lines.flatMap((d: any) => d.content ?? []).some((c: any) => c.attachment?.data)).toBe(false);
  for (const leak of ['MRN-100', CANARY.family, Buffer.from(CANARY.note).toString('base64').slice(0, 16)]) {
    expect(file.text).not.toContain(leak);
  }
  const deleted = await svc.api('DELETE', location);
  expect(deleted.status).toBe(202);
  expect((await svc.api('GET', location)).status).toBe(404);
}, LONG);

test('an updated record: the copy shows the new version the target confirmed', async () => {
  const line = demoLines()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; record: Record<string, unknown> })
    .find((l) => l.record.id === 's-1001-05') as { record: Record<string, unknown> };
  const before = records.find((r) => r.id === 's-1001-05')?.sync.resources?.find((x) => x.resourceType === 'Encounter');
  expect(before).toBeDefined();
  const put = await svc.api('PUT', '/api/v1/sessions/s-1001-05', { ...line.record, modality: line.record.modality === 'video' ? 'in-person' : 'video' });
  expect(put.status).toBe(200);
  const after = await waitFor(async () => {
    const s = ((await svc.api('GET', '/api/v1/sessions/s-1001-05')).body.sync as SyncView[])[0];
    const enc = s.resources?.find((x) => x.resourceType === 'Encounter');
    return s.state === 'synced' && enc && enc.versionId !== before?.versionId ? enc : undefined;
  }, 30_000, 'the new version of s-1001-05 on the target');
  const copy = await svc.api('GET', `/fhir/Encounter/${after.id}`);
  expect(copy.body.meta.versionId).toBe(after.versionId);
  expect(copy.body).toStrictEqual(await onTarget('Encounter', after.id));
}, LONG);

test('a restart keeps the copy: served with the target gone', async () => {
  const [enc] = await target.search('Encounter', { identifier: `${NS}/sid/session|s-1002-01` });
  await svc.close();
  await target.close();
  targetClosed = true;
  svc = await startExportService(join(tmp.dir, 'svc'), {}, { FHIR_BASE_URL: target.url, SYNC_ENABLED: 'false' });
  const r = await svc.api('GET', `/fhir/Encounter/${enc.id}`);
  expect(r.status).toBe(200);
  expect(r.body).toEqual(enc);
  const search = await svc.api('GET', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-1002-01`)}`);
  expect(search.body.entry[0].resource).toEqual(enc);
}, LONG);
