/**
 * The sync reaches the embedded server through fhir-kit-client (src/fhir/kit-client.ts): prove that path
 * works end to end, with bundles shaped like src/sync/send.ts builds them (encoded identifier queries).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import type { FhirTarget } from '../../src/fhir/port.js';
import { encounter, patient, startHarness, SYS, type Harness } from './helpers.js';

let h: Harness;
let target: FhirTarget;

beforeAll(async () => {
  h = await startHarness();
  const address = h.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  target = createKitClientTarget({ name: 'embedded', baseUrl: `http://127.0.0.1:${port}/fhir`, timeoutMs: 10000 });
});

afterAll(async () => {
  await h.close();
});

function query(value: string): string {
  return `identifier=${encodeURIComponent(SYS)}|${encodeURIComponent(value)}`;
}

test('capabilities, transaction, search and read through fhir-kit-client', async () => {
  const cs = await target.capabilities();
  expect(cs.fhirVersion).toBe('4.0.1');

  const patientUrn = `urn:uuid:${randomUUID()}`;
  const entry: BundleEntry[] = [
    {
      fullUrl: patientUrn,
      resource: patient('kit 1/ä'),
      request: { method: 'POST', url: 'Patient', ifNoneExist: query('kit 1/ä') },
    },
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: encounter('kit-enc', patientUrn),
      request: { method: 'PUT', url: `Encounter?${query('kit-enc')}` },
    },
  ];
  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
  const first = await target.transaction(structuredClone(bundle));
  const again = await target.transaction(structuredClone(bundle));
  const locations = (b: Bundle): (string | undefined)[] => (b.entry ?? []).map((e) => e.response?.location);
  expect(locations(again)).toEqual(locations(first));
  expect(locations(first).every((l) => /\/_history\/1$/.test(l ?? ''))).toBe(true);

  const found = await target.search('Patient', { identifier: `${SYS}|kit 1/ä` });
  expect(found.total).toBe(1);
  const patientId = found.entry?.[0].resource?.id as string;
  const encId = /Encounter\/([^/]+)/.exec(locations(first)[1] ?? '')?.[1] as string;
  const enc = await target.read('Encounter', encId);
  expect(enc).toMatchObject({ subject: { reference: `Patient/${patientId}` } });

  await expect(target.read('Encounter', 'missing')).rejects.toMatchObject({
    outcome: { id: 'upstream-failed' },
  });
});
