/**
 * End to end on the embedded defaults: the real service with its SQLite store and its embedded FHIR
 * server, reached by the sync over HTTP. Records go in through the API and come out as FHIR resources.
 */
import { createHash } from 'node:crypto';
import { validateResource } from '@medplum/core';
import { MRN_SYSTEM, NS, records, seedBundle, THERAPIST_NPI } from '../helpers/fixtures.js';
import { startTestService, type TestService, waitFor, waitForState } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const byIdentifier = async (svc: TestService, type: string, system: string, value: string): Promise<any> => {
  const r = await svc.api('GET', `/fhir/${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`);
  expect(r.status).toBe(200);
  return r.body;
};

const one = async (svc: TestService, type: string, system: string, value: string): Promise<any> => {
  const bundle = await byIdentifier(svc, type, system, value);
  expect(bundle.entry ?? []).toHaveLength(1);
  return bundle.entry[0].resource;
};

describe('end to end on the embedded FHIR server', () => {
  const tmp = tempDir();
  let svc: TestService;
  let patientId: string;
  let therapistId: string;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir);
    const seeded = await svc.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' });
    expect(seeded.status).toBe(200);
    patientId = (await one(svc, 'Patient', MRN_SYSTEM, 'MRN-1001')).id;
    therapistId = (await one(svc, 'Practitioner', 'http://hl7.org/fhir/sid/us-npi', THERAPIST_NPI)).id;
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('records of every kind sync and reference each other correctly', async () => {
    for (const [collection, rec] of [
      ['participants', records.participant],
      ['consents', records.consent],
      ['sessions', records.session],
      ['notes', records.note],
    ] as const) {
      const r = await svc.api('PUT', `/api/v1/${collection}/${rec.id}`, rec);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ id: rec.id, status: 'accepted', version: 1 });
    }
    const noteState = await waitForState(svc, 'notes', 'n-001');
    for (const [c, id] of [['participants', 'p-001'], ['consents', 'c-001'], ['sessions', 's-001']]) {
      await waitForState(svc, c, id);
    }

    const rp = await one(svc, 'RelatedPerson', `${NS}/sid/collateral-contact`, 'p-001:MRN-1001');
    expect(rp.patient.reference).toBe(`Patient/${patientId}`);

    const enc = await one(svc, 'Encounter', `${NS}/sid/session`, 's-001');
    expect(enc.subject.reference).toBe(`Patient/${patientId}`);
    const individuals = enc.participant.map((p: any) => p.individual.reference);
    expect(individuals).toEqual(expect.arrayContaining([`Practitioner/${therapistId}`, `RelatedPerson/${rp.id}`]));

    const doc = await one(svc, 'DocumentReference', `${NS}/sid/note`, 'n-001');
    expect(doc.subject.reference).toBe(`Patient/${patientId}`);
    expect(doc.context.encounter[0].reference).toBe(`Encounter/${enc.id}`);
    expect(doc.meta.security).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }),
        expect.objectContaining({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'BH' }),
      ])
    );
    const att = doc.content[0].attachment;
    const bytes = Buffer.from(records.note.text, 'utf8');
    expect(Buffer.from(att.data, 'base64').toString('utf8')).toBe(records.note.text);
    expect(att.size).toBe(bytes.length);
    expect(att.hash).toBe(createHash('sha1').update(bytes).digest('base64'));

    const consent = await one(svc, 'Consent', `${NS}/sid/roi`, 'c-001');
    expect(consent.patient.reference).toBe(`Patient/${patientId}`);
    expect(JSON.stringify(consent.provision)).toContain(`RelatedPerson/${rp.id}`);

    // The record's state names the FHIR resources it became, with their versions.
    expect(noteState.sync[0].resources).toEqual([
      expect.objectContaining({ resourceType: 'DocumentReference', id: doc.id, versionId: doc.meta.versionId }),
    ]);
  });

  test('every write is audited locally as a BALP-shaped AuditEvent naming the resources written', async () => {
    const audits = await svc.store.audit.listAudit({ clientMrn: 'MRN-1001', category: 'disclosure' });
    expect(audits.map((a) => `${a.kind}/${a.recordId}`)).toEqual(
      expect.arrayContaining(['participant/p-001', 'consent/c-001', 'session/s-001', 'note/n-001'])
    );
    const noteAudit = audits.find((a) => a.recordId === 'n-001')!;
    expect(() => validateResource(noteAudit.event)).not.toThrow();
    expect(noteAudit.event.outcome).toBe('0');
    const doc = await one(svc, 'DocumentReference', `${NS}/sid/note`, 'n-001');
    expect(noteAudit.event.entity?.map((e) => e.what?.reference)).toContain(`DocumentReference/${doc.id}/_history/${doc.meta.versionId}`);
  });

  test('a resent identical record changes nothing; a changed one updates the same resource', async () => {
    const before = await one(svc, 'Encounter', `${NS}/sid/session`, 's-001');
    const resend = await svc.api('PUT', '/api/v1/sessions/s-001', records.session);
    expect(resend.status).toBe(200);
    expect(resend.body).toMatchObject({ status: 'unchanged', version: 1 });
    expect(await svc.store.status.outboxSize()).toBe(0);
    const after = await one(svc, 'Encounter', `${NS}/sid/session`, 's-001');
    expect(after.meta.versionId).toBe(before.meta.versionId);

    const changed = await svc.api('PUT', '/api/v1/sessions/s-001', { ...records.session, end: '2026-02-01T16:55:00-05:00' });
    expect(changed.body).toMatchObject({ status: 'accepted', version: 2 });
    await waitFor(async () => {
      const r = await svc.api('GET', '/api/v1/sessions/s-001');
      return r.body.sync[0].state === 'synced' && r.body.sync[0].resources?.[0]?.versionId !== before.meta.versionId;
    });
    const updated = await one(svc, 'Encounter', `${NS}/sid/session`, 's-001');
    expect(updated.id).toBe(before.id);
    expect(updated.period.end).toBe('2026-02-01T16:55:00-05:00');
    const history = await svc.api('GET', `/fhir/Encounter/${before.id}/_history`);
    expect(history.body.entry).toHaveLength(2);
  });

  test('a psychotherapy note is kept locally, blocked, and never reaches the FHIR server', async () => {
    const marker = 'CANARY-7f3e9b1d';
    const r = await svc.api('PUT', '/api/v1/notes/n-psy', {
      ...records.note,
      id: 'n-psy',
      kind: 'psychotherapy-note',
      text: `Process note ${marker}`,
    });
    expect(r.status).toBe(201);
    expect(r.body.sync).toEqual([expect.objectContaining({ target: 'local', state: 'blocked' })]);
    expect(await svc.store.status.outboxSize()).toBe(0);
    const found = await byIdentifier(svc, 'DocumentReference', `${NS}/sid/note`, 'n-psy');
    expect(found.entry ?? []).toHaveLength(0);
    expect(svc.logs()).not.toContain(marker);
  });

  test('a record whose Patient is missing is held with the reason, then released by a retry once the Patient appears', async () => {
    const rec = { ...records.participant, id: 'p-900', client: { mrn: 'MRN-9999' } };
    // A participant is disclosed only while a consent names it (issue #4).
    await svc.api('PUT', '/api/v1/consents/c-900', {
      ...records.consent,
      id: 'c-900',
      client: { mrn: 'MRN-9999' },
      recipients: ['p-900'],
      signedBy: { participantId: 'p-900' },
    });
    await svc.api('PUT', '/api/v1/participants/p-900', rec);
    const held = await waitForState(svc, 'participants', 'p-900', 'held');
    expect(held.sync[0].reason).toMatch(/^patient-not-found: no Patient with MRN MRN-9999/);

    await svc.api(
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'MRN-9999' }] },
      { 'content-type': 'application/fhir+json' }
    );
    // The EHR registering a Patient is nothing the service can observe: a held record waits for the
    // operator's retry (the review list's workflow), a record of the client synced, or the slow recheck.
    const retried = await svc.api('POST', '/api/v1/sync/retry', { reason: 'patient-not-found', client: 'MRN-9999' });
    expect(retried.body.woken).toBeGreaterThanOrEqual(1);
    await waitForState(svc, 'participants', 'p-900', 'synced');
    await one(svc, 'RelatedPerson', `${NS}/sid/collateral-contact`, 'p-900:MRN-9999');
  });

  test('sync status counts records by state and target', async () => {
    const r = await svc.api('GET', '/api/v1/sync/status');
    expect(r.status).toBe(200);
    expect(r.body.targets.embedded.synced).toBeGreaterThanOrEqual(4);
    expect(r.body.targets.local.blocked).toBe(1);
    expect(r.body.outbox).toBe(0);
  });

  test('logs carry request ids and ids and codes, never names, note text or contact details', () => {
    const logs = svc.logs();
    expect(logs).toMatch(/"requestId":"[0-9a-f-]{36}"/);
    for (const phi of ['Maria', 'Lopez', '555-0100', 'improved sleep', 'reed@example.org']) {
      expect(logs).not.toContain(phi);
    }
  });
});
