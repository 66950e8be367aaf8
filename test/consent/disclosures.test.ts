/**
 * The accounting of disclosures on the real service: every write that reached the FHIR server is listed
 * for its client (record, resources and versions, target, when, consent or exception), as JSON and as a
 * FHIR Bundle of the stored BALP AuditEvents.
 */
import { validateResource } from '@medplum/core';
import { MRN_SYSTEM, NS, records, seedBundle } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { patientsBundle } from './helpers/pair.js';
import { activeConsent, collateralSession, mother, put, summaryNote, waitState } from './helpers/records.js';

const tmp = tempDir('consent-disclosures-');
let svc: TestService;
const FHIR = { 'content-type': 'application/fhir+json' };
const EXCEPTION_REASON = 'Fictitious: client stated a plan to self-harm';

beforeAll(async () => {
  svc = await startTestService(tmp.dir);
  expect((await svc.api('POST', '/fhir', seedBundle, FHIR)).status).toBe(200);
  expect((await svc.api('POST', '/fhir', patientsBundle(['MRN-5001']), FHIR)).status).toBe(200);

  // Client MRN-1001: the contract example, the note sent before its session.
  await put(svc, 'notes', records.note);
  for (const [collection, rec] of [
    ['participants', records.participant],
    ['consents', records.consent],
    ['sessions', records.session],
  ] as const) {
    await put(svc, collection, rec);
  }
  // Client MRN-5001: a session disclosed under the danger-to-self exception, and its note.
  await put(svc, 'participants', mother('p-5001', 'MRN-5001'));
  await put(svc, 'sessions', collateralSession('s-5001', 'MRN-5001', ['p-5001'], { exception: { basis: 'danger-to-self', reason: EXCEPTION_REASON } }));
  await put(svc, 'notes', summaryNote('n-5001', 's-5001', 'Fictitious crisis summary.'));
  // And one held for lack of consent: never listed.
  await put(svc, 'participants', mother('p-5002', 'MRN-5001'));
  await put(svc, 'sessions', collateralSession('s-5002', 'MRN-5001', ['p-5002']));

  for (const [c, id] of [['notes', 'n-001'], ['participants', 'p-001'], ['consents', 'c-001'], ['sessions', 's-001'], ['sessions', 's-5001'], ['notes', 'n-5001']]) {
    await waitState(svc, c, id, 'embedded', 'synced');
  }
  await waitState(svc, 'sessions', 's-5002', 'embedded', 'held');
});
afterAll(async () => {
  await svc.close();
  tmp.cleanup();
});

async function fhirOne(type: string, system: string, value: string): Promise<any> {
  const r = await svc.api('GET', `/fhir/${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`);
  expect(r.body.entry).toHaveLength(1);
  return r.body.entry[0].resource;
}

test('JSON: each disclosure of the client with record, resources and versions, target, when and the consent relied on', async () => {
  const r = await svc.api('GET', '/api/v1/clients/MRN-1001/disclosures');
  expect(r.status).toBe(200);
  expect(r.body.client).toEqual({ mrn: 'MRN-1001' });
  const items: any[] = r.body.disclosures;
  expect(r.body.count).toBe(items.length);
  expect(items.map((d) => `${d.record.kind}/${d.record.id}`).sort()).toEqual(['consent/c-001', 'note/n-001', 'participant/p-001', 'session/s-001']);
  const enc = await fhirOne('Encounter', `${NS}/sid/session`, 's-001');
  const session = items.find((d) => d.record.id === 's-001');
  expect(session).toMatchObject({
    record: { kind: 'session', id: 's-001', version: 1 },
    resources: [{ resourceType: 'Encounter', id: enc.id, versionId: enc.meta.versionId }],
    target: { name: 'embedded', url: `${svc.url}/fhir` },
    basis: 'consent',
    purposeOfUse: 'TREAT',
    consentIds: ['c-001'],
  });
  expect(Date.parse(session.when)).not.toBeNaN();
  // The note arrived before its session, yet is accounted to the client.
  const doc = await fhirOne('DocumentReference', `${NS}/sid/note`, 'n-001');
  expect(items.find((d) => d.record.id === 'n-001')).toMatchObject({ basis: 'consent', consentIds: ['c-001'], resources: [{ resourceType: 'DocumentReference', id: doc.id }] });
  // Oldest first.
  expect([...items].sort((a, b) => a.when.localeCompare(b.when))).toEqual(items);
});

test('JSON: a disclosure under an exception names its purpose of use and reason, and no consent', async () => {
  const r = await svc.api('GET', '/api/v1/clients/MRN-5001/disclosures');
  const items: any[] = r.body.disclosures;
  expect(items.map((d) => d.record.id)).not.toContain('s-5002'); // held: nothing was disclosed
  for (const id of ['s-5001', 'n-5001']) {
    expect(items.find((d) => d.record.id === id)).toMatchObject({ basis: 'exception', purposeOfUse: 'THREAT', consentIds: [], exceptionReason: EXCEPTION_REASON });
  }
  // The exception's text is in the accounting, never in the logs.
  expect(svc.logs()).not.toContain('self-harm');
});

test.each([
  ['Accept: application/fhir+json', '', { accept: 'application/fhir+json' }],
  ['?_format=fhir', '?_format=fhir', {}],
])('FHIR (%s): a searchset Bundle of the stored AuditEvents, each valid', async (_label, query, headers) => {
  const json = await svc.api('GET', '/api/v1/clients/MRN-1001/disclosures');
  const res = await fetch(`${svc.url}/api/v1/clients/MRN-1001/disclosures${query}`, { headers: { authorization: `Bearer ${svc.apiTokens[0]}`, ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const bundle = (await res.json()) as any;
  expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: json.body.count });
  expect(() => validateResource(bundle)).not.toThrow();
  const events = bundle.entry.map((e: any) => e.resource);
  expect(events.map((e: any) => e.id)).toEqual(json.body.disclosures.map((d: any) => d.auditEventId));
  for (const e of events) {
    expect(e.resourceType).toBe('AuditEvent');
    expect(e.outcome).toBe('0');
    expect(e.entity).toContainEqual(expect.objectContaining({ what: { identifier: { system: MRN_SYSTEM, value: 'MRN-1001' } } }));
  }
  const sessionEvent = events.find((e: any) => e.entity.some((x: any) => x.what?.identifier?.value === 'session/s-001/v1'));
  expect(sessionEvent.agent[0].policy).toEqual([`${NS}/sid/roi|c-001`]);
  expect(sessionEvent.purposeOfEvent[0].coding[0].code).toBe('TREAT');
});

test('a client with no disclosures gets an empty list; a malformed MRN an OperationOutcome; no token a 401', async () => {
  const none = await svc.api('GET', '/api/v1/clients/MRN-0000/disclosures');
  expect(none.status).toBe(200);
  expect(none.body).toEqual({ client: { mrn: 'MRN-0000' }, count: 0, disclosures: [] });
  const bad = await svc.api('GET', '/api/v1/clients/MRN%201001/disclosures');
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [expect.objectContaining({ expression: ['/mrn'] })] });
  const anonymous = await fetch(`${svc.url}/api/v1/clients/MRN-1001/disclosures`);
  expect(anonymous.status).toBe(401);
});

test('a session whose only consent allows collecting, not disclosing, is held and never listed', async () => {
  await put(svc, 'participants', { ...records.teacher });
  await put(svc, 'consents', activeConsent('c-teacher', 'MRN-1001', ['p-002'], { actions: ['collect'] }));
  await put(svc, 'sessions', collateralSession('s-teacher', 'MRN-1001', ['p-002']));
  // The teacher's consent allows only collecting information from them: the session may not be disclosed.
  const held = await waitState(svc, 'sessions', 's-teacher', 'embedded', 'held');
  expect(held.reason).toBe('no-consent: no consent covers p-002 on 2026-02-01 (c-teacher does not allow disclose)');
  const r = await svc.api('GET', '/api/v1/clients/MRN-1001/disclosures');
  expect(r.body.disclosures.map((d: any) => d.record.id)).not.toContain('s-teacher');
});
