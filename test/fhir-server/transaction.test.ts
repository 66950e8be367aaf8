import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Encounter } from '@medplum/fhirtypes';
import { encounter, patient, sendJson, startHarness, SYS, type Harness } from './helpers.js';

let h: Harness;
let patientId: string;

beforeAll(async () => {
  h = await startHarness();
  const res = await sendJson(h, 'post', '/fhir/Patient', patient('tx-patient'));
  patientId = res.body.id;
});

afterAll(async () => {
  await h.close();
});

function q(value: string): string {
  return `identifier=${encodeURIComponent(SYS)}|${encodeURIComponent(value)}`;
}

/** RelatedPerson <- Encounter (participant) <- DocumentReference (context), all conditional PUTs. */
function collateralBundle(tag: string, status = 'finished'): Bundle {
  const rp = `urn:uuid:${randomUUID()}`;
  const enc = `urn:uuid:${randomUUID()}`;
  const doc = `urn:uuid:${randomUUID()}`;
  const patientRef = { reference: `Patient/${patientId}` };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: doc,
        resource: {
          resourceType: 'DocumentReference',
          identifier: [{ system: SYS, value: `doc-${tag}` }],
          status: 'current',
          subject: patientRef,
          content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('note').toString('base64') } }],
          context: { encounter: [{ reference: enc }] },
        },
        request: { method: 'PUT', url: `DocumentReference?${q(`doc-${tag}`)}` },
      },
      {
        fullUrl: enc,
        resource: {
          ...encounter(`enc-${tag}`, `Patient/${patientId}`),
          status: status as Encounter['status'],
          participant: [{ individual: { reference: rp } }],
        },
        request: { method: 'PUT', url: `Encounter?${q(`enc-${tag}`)}` },
      },
      {
        fullUrl: rp,
        resource: {
          resourceType: 'RelatedPerson',
          identifier: [{ system: SYS, value: `rp-${tag}` }],
          patient: patientRef,
          name: [{ family: 'Collateral' }],
        },
        request: { method: 'POST', url: 'RelatedPerson', ifNoneExist: q(`rp-${tag}`) },
      },
    ],
  };
}

async function post(bundle: Bundle): Promise<{ status: number; body: Bundle & { issue?: unknown[] } }> {
  const res = await sendJson(h, 'post', '/fhir', bundle);
  return { status: res.status, body: res.body };
}

async function count(type: string, params: Record<string, string> = {}): Promise<number> {
  return (await h.http().get(`/fhir/${type}`).query({ ...params, _count: '0' })).body.total;
}

describe('embedded FHIR server: transactions', () => {
  test('urn:uuid references are rewritten to the created ids; responses carry location and etag', async () => {
    const { status, body } = await post(collateralBundle('a'));
    expect(status).toBe(200);
    expect(body.type).toBe('transaction-response');
    const [docE, encE, rpE] = body.entry ?? [];
    for (const e of [docE, encE, rpE]) {
      expect(e.response?.status).toMatch(/^201/);
      expect(e.response?.location).toMatch(/^[A-Za-z]+\/[0-9a-f-]{36}\/_history\/1$/);
      expect(e.response?.etag).toBe('W/"1"');
    }
    const rpId = rpE.resource?.id;
    const encId = encE.resource?.id;
    const enc = (await h.http().get(`/fhir/Encounter/${encId}`)).body;
    expect(enc.participant[0].individual.reference).toBe(`RelatedPerson/${rpId}`);
    expect(enc.subject.reference).toBe(`Patient/${patientId}`);
    const doc = (await h.http().get(`/fhir/DocumentReference/${docE.resource?.id}`)).body;
    expect(doc.context.encounter[0].reference).toBe(`Encounter/${encId}`);
  });

  test('resending the same transaction changes nothing (same ids, same versions)', async () => {
    const first = await post(collateralBundle('b'));
    const second = await post(collateralBundle('b'));
    expect(second.status).toBe(200);
    const ids = (b: Bundle): (string | undefined)[] => (b.entry ?? []).map((e) => e.response?.location);
    expect(ids(second.body)).toEqual(ids(first.body));
    for (const e of second.body.entry ?? []) {
      expect(e.response?.status).toMatch(/^200/);
    }
    // The Encounter still points at the same RelatedPerson, which was not duplicated.
    expect(await count('RelatedPerson', { identifier: `${SYS}|rp-b` })).toBe(1);
    const third = await post(collateralBundle('b', 'cancelled'));
    const encEntry = third.body.entry?.[1];
    expect(encEntry?.response?.location).toMatch(/\/_history\/2$/);
    expect(encEntry?.response?.etag).toBe('W/"2"');
  });

  test('10 identical transactions sent in parallel create each resource once', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => post(collateralBundle('par'))));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const locations = new Set(results.map((r) => JSON.stringify(r.body.entry?.map((e) => e.response?.location))));
    expect(locations.size).toBe(1);
    expect(await count('Encounter', { identifier: `${SYS}|enc-par` })).toBe(1);
    expect(await count('RelatedPerson', { identifier: `${SYS}|rp-par` })).toBe(1);
    expect(await count('DocumentReference', { identifier: `${SYS}|doc-par` })).toBe(1);
  });

  test('a transaction with one invalid entry writes nothing', async () => {
    const bundle = collateralBundle('c');
    const enc = bundle.entry?.[1].resource as { status?: string };
    delete enc.status; // Encounter.status is required
    const before = await count('RelatedPerson');
    const { status, body } = await post(bundle);
    expect(status).toBe(400);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(await count('RelatedPerson')).toBe(before);
    expect(await count('DocumentReference', { identifier: `${SYS}|doc-c` })).toBe(0);
    expect(await count('Encounter', { identifier: `${SYS}|enc-c` })).toBe(0);
  });

  test('a conditional matching several resources answers 412 and writes nothing', async () => {
    for (let i = 0; i < 2; i++) {
      await sendJson(h, 'post', '/fhir/Patient', patient('dup-mrn'));
    }
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient('tx-new'), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('dup-mrn'), request: { method: 'PUT', url: `Patient?${q('dup-mrn')}` } },
      ],
    };
    const { status } = await post(bundle);
    expect(status).toBe(412);
    expect(await count('Patient', { identifier: `${SYS}|tx-new` })).toBe(0);
  });

  test('more than 8 conditional entries are accepted (no strict-isolation limit)', async () => {
    const entry: BundleEntry[] = [];
    for (let i = 0; i < 12; i++) {
      entry.push({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: encounter(`many-${i}`, `Patient/${patientId}`),
        request: { method: 'PUT', url: `Encounter?${q(`many-${i}`)}` },
      });
    }
    const { status, body } = await post({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(status).toBe(200);
    expect(body.entry).toHaveLength(12);
    expect(await count('Encounter', { identifier: `${SYS}|many-11` })).toBe(1);
  });

  test('a batch reports each entry on its own', async () => {
    const { status, body } = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('batch-ok'), request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Encounter' } as BundleEntry['resource'],
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    });
    expect(status).toBe(200);
    expect(body.type).toBe('batch-response');
    expect(body.entry?.[0].response?.status).toMatch(/^201/);
    expect(body.entry?.[0].response?.etag).toBe('W/"1"');
    expect(body.entry?.[1].response?.status).toMatch(/^400/);
    expect(body.entry?.[1].response?.outcome?.issue?.length).toBeGreaterThan(0);
  });
});
