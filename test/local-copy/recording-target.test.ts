/**
 * The hook on the sync's FhirTarget, over a real FHIR server (the embedded one, standalone) and a real
 * copy file: what the target confirmed is kept, as the target holds it; what it refused, and what the
 * sync only read or searched, is not. Then how answers without a body are read (pure functions).
 */
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import { confirmedEntries, confirmedWrite } from '../../src/local-copy/confirmed.js';
import { LocalCopy, localCopyPath, recordingTarget } from '../../src/local-copy/index.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';

const SID = 'https://fhir.example-practice.org/sid/collateral-contact';
const related = (value: string, family = 'Doe'): Resource =>
  ({ resourceType: 'RelatedPerson', identifier: [{ system: SID, value }], patient: { reference: 'Patient/p1' }, name: [{ family }] }) as Resource;

const tmp = tempDir('recording-target-');
let ehr: FhirTarget;
let copy: LocalCopy;
let target: TargetPort;

beforeAll(async () => {
  ehr = await startFhirTarget('full', join(tmp.dir, 'ehr'));
  copy = new LocalCopy(localCopyPath(join(tmp.dir, 'svc'), ehr.url), ehr.url);
  target = recordingTarget(createKitClientTarget({ name: ehr.url, baseUrl: ehr.url, timeoutMs: 10_000 }), copy);
});

afterAll(async () => {
  copy?.close();
  await ehr?.close();
  tmp.cleanup();
});

const held = (type: string, id: string): Promise<Resource | undefined> => copy.repo.readResource(type, id).catch(() => undefined);

test('create, conditional update and update: the copy holds each as the target answered it', async () => {
  const created = await target.create(related('a'));
  expect(created.status).toBe(201);
  expect(await held('RelatedPerson', created.resource?.id as string)).toEqual(created.resource);

  const upsert = await target.conditionalUpdate(related('b'), { identifier: `${SID}|b` });
  expect(await held('RelatedPerson', upsert.resource?.id as string)).toEqual(upsert.resource);

  const updated = await target.update({ ...(created.resource as Resource), name: [{ family: 'Changed' }] } as Resource);
  const copyNow = await held('RelatedPerson', created.resource?.id as string);
  expect(copyNow?.meta?.versionId).toBe('2');
  expect(copyNow).toEqual(updated.resource);
  expect(copyNow).toEqual(await target.read('RelatedPerson', created.resource?.id as string));
});

test('a transaction: every entry the target confirmed, with its id and version', async () => {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: ['t1', 't2'].map((v) => ({ resource: related(v), request: { method: 'PUT' as const, url: `RelatedPerson?identifier=${SID}|${v}` } })),
  };
  const answer = await target.transaction(bundle);
  for (const e of answer.entry ?? []) {
    expect(await held('RelatedPerson', e.resource?.id as string)).toEqual(e.resource);
  }
  expect(answer.entry).toHaveLength(2);
});

test('a batch: the entry the target refused is not in the copy, the one it accepted is', async () => {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: related('ok'), request: { method: 'POST', url: 'RelatedPerson' } },
      // No such resource: the target answers this entry 404 (or 4xx) and writes nothing.
      { resource: { ...related('missing'), id: 'does-not-exist' } as Resource, request: { method: 'PUT', url: 'RelatedPerson/does-not-exist', ifMatch: 'W/"7"' } },
    ],
  };
  const answer = await target.batch(bundle);
  expect(Number.parseInt(answer.entry?.[0]?.response?.status ?? '', 10)).toBe(201);
  expect(Number.parseInt(answer.entry?.[1]?.response?.status ?? '', 10)).toBeGreaterThanOrEqual(400);
  expect(await held('RelatedPerson', answer.entry?.[0]?.resource?.id as string)).toEqual(answer.entry?.[0]?.resource);
  expect(await held('RelatedPerson', 'does-not-exist')).toBeUndefined();
});

test('what the sync only reads or searches is never copied', async () => {
  const [patient] = await ehr.seed([{ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'MRN-9' }] } as Resource]);
  await target.read('Patient', patient.id as string);
  await target.search('Patient', { identifier: 'urn:mrn|MRN-9' });
  expect(await held('Patient', patient.id as string)).toBeUndefined();
});

test('a refused write keeps nothing and fails as before', async () => {
  await expect(target.update({ ...related('x'), id: 'nope' } as Resource, { ifMatch: 'W/"3"' })).rejects.toBeDefined();
  expect(await held('RelatedPerson', 'nope')).toBeUndefined();
});

describe('answers without a body (Prefer: return=minimal, some EHRs)', () => {
  const sent = related('m');
  const now = new Date('2026-03-01T10:00:00Z');

  test('a create or update: what was sent, with the id and version from Location or ETag', () => {
    expect(confirmedWrite('create', sent, { status: 201, location: 'http://ehr/fhir/RelatedPerson/r9/_history/4' }, 'RelatedPerson', now)).toEqual({
      resource: { ...sent, id: 'r9', meta: { versionId: '4', lastUpdated: now.toISOString() } },
    });
  });

  test('a patch, or a conditional create that found one: the confirmed version is read back', () => {
    expect(confirmedWrite('patch', undefined, { status: 200, location: 'RelatedPerson/r9/_history/5' }, 'RelatedPerson', now)).toEqual({
      fetch: { resourceType: 'RelatedPerson', id: 'r9', versionId: '5' },
    });
    expect(confirmedWrite('conditional-create', sent, { status: 200, location: 'RelatedPerson/r1/_history/2' }, 'RelatedPerson', now)).toEqual({
      fetch: { resourceType: 'RelatedPerson', id: 'r1', versionId: '2' },
    });
  });

  test('a batch answer: 2xx entries only, lastModified kept, reads and failures left out', () => {
    const request: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: sent, request: { method: 'PUT', url: `RelatedPerson?identifier=${SID}|m` } },
        { resource: sent, request: { method: 'POST', url: 'RelatedPerson' } },
        { request: { method: 'GET', url: 'Patient?identifier=x' } },
      ],
    };
    const response: Bundle = {
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: [
        { response: { status: '200 OK', location: 'RelatedPerson/r2/_history/3', lastModified: '2026-02-01T00:00:00Z' } },
        { response: { status: '412' } },
        { response: { status: '200' }, resource: { resourceType: 'Bundle', type: 'searchset' } },
      ],
    };
    expect(confirmedEntries(request, response, now)).toEqual([
      { resource: { ...sent, id: 'r2', meta: { versionId: '3', lastUpdated: '2026-02-01T00:00:00.000Z' } } },
    ]);
  });

  test('a success that says nothing of where it went is not guessed', () => {
    expect(confirmedWrite('create', sent, { status: 201 }, 'RelatedPerson', now)).toBeUndefined();
  });
});
