/**
 * The sync's conditional writes, now answered from the index, over HTTP: a Provenance created with
 * `If-None-Exist: _tag=...` and resources upserted by identifier exist exactly once however many
 * requests race, alone or inside transaction Bundles.
 */
import { parseSearchRequest } from '@medplum/core';
import type { Bundle, Provenance } from '@medplum/fhirtypes';
import { encounter, patient, sendJson, startHarness, SYS, type Harness } from './helpers.js';

const TAGS = 'https://collateral.example/fhir/tags';
let h: Harness;
let patientId: string;

beforeAll(async () => {
  h = await startHarness();
  patientId = (await sendJson(h, 'post', '/fhir/Patient', patient('cond-1'))).body.id;
});

afterAll(async () => {
  await h.close();
});

function provenance(target: string, key: string): Provenance {
  return {
    resourceType: 'Provenance',
    meta: { tag: [{ system: TAGS, code: key }] },
    target: [{ reference: target }],
    recorded: '2024-05-01T10:00:00Z',
    agent: [{ who: { reference: `Patient/${patientId}` } }],
  };
}

async function count(url: string): Promise<number> {
  const res = await h.http().get(url);
  expect(res.status).toBe(200);
  return res.body.total;
}

test('50 parallel POST Provenance with If-None-Exist: _tag create exactly one, found through the index', async () => {
  const ifNoneExist = { 'If-None-Exist': `_tag=${TAGS}|race-key` };
  const results = await Promise.all(
    Array.from({ length: 50 }, () => sendJson(h, 'post', '/fhir/Provenance', provenance(`Patient/${patientId}`, 'race-key'), ifNoneExist))
  );
  expect(results.filter((r) => r.status === 201)).toHaveLength(1);
  expect(results.filter((r) => r.status === 200)).toHaveLength(49);
  expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
  expect(await count(`/fhir/Provenance?_tag=${encodeURIComponent(`${TAGS}|race-key`)}`)).toBe(1);
  expect(h.fhir.repo.explainSearch(parseSearchRequest(`Provenance?_tag=${TAGS}|race-key`))).toBeDefined();
});

test('transaction Bundles with conditional Provenance and identifier upserts, sent twice, write once', async () => {
  const bundle = (n: number): Bundle => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`,
        resource: encounter(`cond-enc-${n}`, `Patient/${patientId}`),
        request: { method: 'PUT', url: `Encounter?identifier=${encodeURIComponent(SYS)}|cond-enc-${n}` },
      },
      {
        resource: provenance(`urn:uuid:00000000-0000-4000-8000-00000000000${n}`, `tx-key-${n}`),
        request: { method: 'POST', url: 'Provenance', ifNoneExist: `_tag=${encodeURIComponent(TAGS)}|tx-key-${n}` },
      },
    ],
  });
  const sends = await Promise.all([1, 2, 3, 1, 2, 3].map((n) => sendJson(h, 'post', '/fhir', bundle(n))));
  expect(sends.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  for (const n of [1, 2, 3]) {
    expect(await count(`/fhir/Encounter?identifier=${encodeURIComponent(`${SYS}|cond-enc-${n}`)}`)).toBe(1);
    expect(await count(`/fhir/Provenance?_tag=${encodeURIComponent(`${TAGS}|tx-key-${n}`)}`)).toBe(1);
  }
  // The Provenance points at the Encounter the transaction resolved.
  const prov = await h.http().get(`/fhir/Provenance?_tag=${encodeURIComponent(`${TAGS}|tx-key-2`)}`);
  const enc = await h.http().get(`/fhir/Encounter?identifier=${encodeURIComponent(`${SYS}|cond-enc-2`)}`);
  expect(prov.body.entry[0].resource.target[0].reference).toBe(`Encounter/${enc.body.entry[0].resource.id}`);
  expect(await count(`/fhir/Provenance?target=Encounter/${enc.body.entry[0].resource.id}`)).toBe(1);
});

test('search by subject, date window, _tag and _sort over HTTP answer from the index with paging links', async () => {
  for (let i = 0; i < 5; i++) {
    await sendJson(h, 'post', '/fhir/Provenance', { ...provenance(`Patient/${patientId}`, `page-${i}`), recorded: `2024-06-0${i + 1}T10:00:00Z` });
  }
  const res = await h.http().get(`/fhir/Provenance?patient=${patientId}&recorded=ge2024-06-02&recorded=lt2024-06-05&_sort=-recorded&_count=2`);
  expect(res.status).toBe(200);
  expect(res.body.total).toBe(3);
  expect(res.body.entry.map((e: { resource: Provenance }) => e.resource.recorded)).toEqual(['2024-06-04T10:00:00Z', '2024-06-03T10:00:00Z']);
  expect(res.body.link.map((l: { relation: string }) => l.relation)).toContain('next');
});
