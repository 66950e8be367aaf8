/**
 * Consent enforced end to end: the real practice service syncs through a recording proxy to a second
 * instance hosting the embedded FHIR server. Holds and their release, revocation while a sync is queued
 * or being retried, replay after revocation, and the gate re-asserting the psychotherapy-note rule.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { NS } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/service.js';
import { PSYCHOTHERAPY_NOTE_REASON } from '../../src/intake/policy.js';
import { textHolds } from './helpers/marker.js';
import { type ServicePair, startPair } from './helpers/pair.js';
import { activeConsent, collateralSession, mother, put, revoked, stateOn, summaryNote, waitState } from './helpers/records.js';

const MRNS = ['MRN-4101', 'MRN-4102', 'MRN-4103', 'MRN-4104', 'MRN-4105', 'MRN-4106'];

let pair: ServicePair;

beforeAll(async () => {
  // MRN-4199 deliberately has no Patient on the EHR (a record of that client is held until one appears).
  pair = await startPair(MRNS);
});
afterAll(async () => {
  await pair.close();
});

async function onEhr(type: string, system: string, value: string): Promise<any[]> {
  const r = await pair.ehr.api('GET', `/fhir/${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`);
  expect(r.status).toBe(200);
  return (r.body.entry ?? []).map((e: any) => e.resource);
}

/** Requests the proxy forwarded to the EHR whose body mentions this text. */
const forwardedWith = (text: string): number => pair.proxy.exchanges.filter((x) => !x.refused && x.body.includes(text)).length;

test('a session without consent is held with a reason naming participant and date, then released when a covering consent arrives', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[0];
  await put(practice, 'participants', mother('p-hold', mrn));
  await put(practice, 'sessions', collateralSession('s-hold', mrn, ['p-hold']));
  const held = await waitState(practice, 'sessions', 's-hold', target, 'held');
  expect(held.reason).toBe('no-consent: no consent covers p-hold on 2026-02-01');
  const heldParticipant = await waitState(practice, 'participants', 'p-hold', target, 'held');
  expect(heldParticipant.reason).toMatch(/^no-consent: no consent in force names p-hold on \d{4}-\d{2}-\d{2}$/);
  expect(await onEhr('Encounter', `${NS}/sid/session`, 's-hold')).toHaveLength(0);
  expect(forwardedWith('s-hold')).toBe(0);

  // Nothing but the consent arriving releases them (intake wakes the client's held records).
  await put(practice, 'consents', activeConsent('c-hold', mrn, ['p-hold']));
  await waitState(practice, 'sessions', 's-hold', target, 'synced');
  await waitState(practice, 'participants', 'p-hold', target, 'synced');
  const [enc] = await onEhr('Encounter', `${NS}/sid/session`, 's-hold');
  const [rp] = await onEhr('RelatedPerson', `${NS}/sid/collateral-contact`, `p-hold:${mrn}`);
  expect(enc.participant.map((p: any) => p.individual.reference)).toContain(`RelatedPerson/${rp.id}`);
});

test('a revocation arriving while the sync is queued (held for a missing Patient) keeps the session, and the never-sent consent, from the EHR', async () => {
  const { practice, ehr, target } = pair;
  const mrn = 'MRN-4199';
  const consent = activeConsent('c-queued', mrn, ['p-queued']);
  await put(practice, 'participants', mother('p-queued', mrn));
  await put(practice, 'consents', consent);
  await put(practice, 'sessions', collateralSession('s-queued', mrn, ['p-queued']));
  // Covered by consent, but waiting for the Patient: it is queued and retried.
  await waitState(practice, 'sessions', 's-queued', target, 'held', /^patient-not-found/);

  await put(practice, 'consents', revoked(consent, '2026-03-01T09:00:00-05:00'));
  await ehr.api('POST', '/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'https://fhir.example-hospital.org/sid/mrn', value: mrn }] }, { 'content-type': 'application/fhir+json' });

  // Once its Patient exists, the session is checked again and held for lack of consent.
  const s = await waitState(practice, 'sessions', 's-queued', target, 'held', /^no-consent/);
  expect(s.reason).toBe('no-consent: no consent covers p-queued on 2026-02-01 (c-queued was revoked at 2026-03-01T09:00:00-05:00)');
  // The consent never reached the EHR before its revocation: sending it now would only name the mother there.
  const c = await waitState(practice, 'consents', 'c-queued', target, 'blocked');
  expect(c.reason).toBe('consent c-queued was revoked before it was ever sent: it is kept local');
  await waitState(practice, 'participants', 'p-queued', target, 'held', /no consent in force names p-queued/);
  expect(await onEhr('Encounter', `${NS}/sid/session`, 's-queued')).toHaveLength(0);
  expect(await onEhr('Consent', `${NS}/sid/roi`, 'c-queued')).toHaveLength(0);
  expect(await onEhr('RelatedPerson', `${NS}/sid/collateral-contact`, `p-queued:${mrn}`)).toHaveLength(0);
  expect(forwardedWith('s-queued')).toBe(0);
});

test('a revocation arriving while the sync is being retried (the target failing) keeps the session from ever reaching the EHR', async () => {
  const { practice, proxy, target } = pair;
  const mrn = MRNS[1];
  const consent = activeConsent('c-retry', mrn, ['p-retry']);
  await put(practice, 'participants', mother('p-retry', mrn));
  await put(practice, 'consents', consent);
  await waitState(practice, 'consents', 'c-retry', target, 'synced');

  proxy.failing = true;
  try {
    await put(practice, 'sessions', collateralSession('s-retry', mrn, ['p-retry']));
    await waitState(practice, 'sessions', 's-retry', target, 'failed');
    expect(proxy.exchanges.some((x) => x.refused && x.body.includes('s-retry'))).toBe(true); // it was really being sent
    await put(practice, 'consents', revoked(consent, '2026-03-02T10:00:00Z'));
    // The next attempt asks the gate first, which reads the revocation from the store: held, not sent.
    await waitState(practice, 'sessions', 's-retry', target, 'held', /^no-consent: no consent covers p-retry on 2026-02-01 \(c-retry was revoked/);
  } finally {
    proxy.failing = false;
  }
  await waitState(practice, 'consents', 'c-retry', target, 'synced');
  await new Promise((r) => setTimeout(r, 600)); // more than one maximum backoff: a leak would show now
  expect((await stateOn(practice, 'sessions', 's-retry', target)).state).toBe('held');
  expect(await onEhr('Encounter', `${NS}/sid/session`, 's-retry')).toHaveLength(0);
  expect(forwardedWith('s-retry')).toBe(0);
});

test('after a revocation, a replay and a changed version send nothing new; what was disclosed stays; new sessions are held', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[2];
  const consent = activeConsent('c-replay', mrn, ['p-replay']);
  await put(practice, 'participants', mother('p-replay', mrn));
  await put(practice, 'consents', consent);
  await put(practice, 'sessions', collateralSession('s-replay', mrn, ['p-replay']));
  await waitState(practice, 'sessions', 's-replay', target, 'synced');
  const [before] = await onEhr('Encounter', `${NS}/sid/session`, 's-replay');
  const sentBefore = forwardedWith('s-replay');
  expect(sentBefore).toBeGreaterThan(0);

  await put(practice, 'consents', revoked(consent, '2026-03-03T12:00:00Z'));
  await waitState(practice, 'consents', 'c-replay', target, 'synced');
  // The revocation reaches the EHR: the Consent becomes inactive, its provision ending at the revocation.
  const [fhirConsent] = await onEhr('Consent', `${NS}/sid/roi`, 'c-replay');
  expect(fhirConsent.status).toBe('inactive');
  expect(fhirConsent.provision.period.end).toBe('2026-03-03T12:00:00Z');

  // A replay (the operator re-queues the record) is checked again at sending.
  expect(await practice.store.outbox.requeue([{ kind: 'session', id: 's-replay' }], target)).toBe(1);
  practice.worker.wake();
  await waitState(practice, 'sessions', 's-replay', target, 'held', /c-replay was revoked/);
  // So is a changed version of it, and a new session with the same participant.
  await put(practice, 'sessions', collateralSession('s-replay', mrn, ['p-replay'], { end: '2026-02-01T16:55:00-05:00' }));
  await put(practice, 'sessions', collateralSession('s-replay-2', mrn, ['p-replay'], { start: '2026-02-08T16:00:00-05:00', end: null }));
  await waitState(practice, 'sessions', 's-replay', target, 'held', /c-replay was revoked/);
  await waitState(practice, 'sessions', 's-replay-2', target, 'held', /^no-consent: no consent covers p-replay on 2026-02-08/);

  const [after] = await onEhr('Encounter', `${NS}/sid/session`, 's-replay');
  expect(after.meta.versionId).toBe(before.meta.versionId); // not updated, and not deleted either
  expect(after.period.end).toBe('2026-02-01T16:50:00-05:00');
  expect(forwardedWith('s-replay')).toBe(sentBefore);
  const disclosures = await practice.api('GET', `/api/v1/clients/${mrn}/disclosures`);
  expect(disclosures.body.disclosures.filter((d: any) => d.record.id === 's-replay')).toHaveLength(1);
});

test('a psychotherapy note forced into the outbox (as a bug in intake would) is blocked by the gate at sending', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[3];
  const marker = 'FORCED-PSY-5c1e0a77';
  await put(practice, 'participants', mother('p-forced', mrn));
  await put(practice, 'consents', activeConsent('c-forced', mrn, ['p-forced'], { dataClasses: ['attendance', 'session-summary', 'progress-note'] }));
  await put(practice, 'sessions', collateralSession('s-forced', mrn, ['p-forced']));
  await waitState(practice, 'sessions', 's-forced', target, 'synced');
  const accepted = await put(practice, 'notes', summaryNote('n-forced', 's-forced', `Process note ${marker}`, { kind: 'psychotherapy-note' }));
  expect(accepted.sync).toEqual([expect.objectContaining({ target: 'local', state: 'blocked' })]);

  const db = new Database(join(practice.dataDir, 'collateral.sqlite'));
  try {
    db.prepare(
      `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at)
       VALUES ('note', 'n-forced', ?, 1, ?, 0, 0, ?)`
    ).run(target, mrn, new Date().toISOString());
  } finally {
    db.close();
  }
  practice.worker.wake();
  const blocked = await waitFor(async () => {
    const s = await stateOn(practice, 'notes', 'n-forced', target);
    return s?.state === 'blocked' ? s : undefined;
  });
  expect(blocked.reason).toBe(PSYCHOTHERAPY_NOTE_REASON);
  const check = new Database(join(practice.dataDir, 'collateral.sqlite'), { readonly: true });
  try {
    expect(check.prepare("SELECT COUNT(*) AS n FROM outbox WHERE record_id = 'n-forced'").get()).toEqual({ n: 0 });
  } finally {
    check.close();
  }
  expect(pair.proxy.exchanges.some((x) => textHolds(x.body, marker) || x.body.includes('n-forced'))).toBe(false);
});

test('an exception disclosure goes without consent, labeled with its purpose of use', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[4];
  await put(practice, 'participants', mother('p-exc', mrn));
  await put(
    practice,
    'sessions',
    collateralSession('s-exc', mrn, ['p-exc'], { type: 'joint', clientPresent: true, exception: { basis: 'danger-to-self', reason: 'Fictitious safety concern' } })
  );
  const synced = await waitState(practice, 'sessions', 's-exc', target, 'synced');
  expect(synced.reason).toBeUndefined();
  const [enc] = await onEhr('Encounter', `${NS}/sid/session`, 's-exc');
  expect(enc.meta.security).toEqual(
    expect.arrayContaining([{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'THREAT', display: 'threat' }])
  );
  // The RelatedPerson went along with the session under the exception; a later change of it waits for a consent.
  await onEhr('RelatedPerson', `${NS}/sid/collateral-contact`, `p-exc:${mrn}`).then((r) => expect(r).toHaveLength(1));
  const changed = await put(practice, 'participants', { ...(mother('p-exc', mrn) as object), language: 'es' });
  expect(changed.version).toBe(2);
  await waitState(practice, 'participants', 'p-exc', target, 'held', /no consent in force names p-exc/);
  await new Promise((r) => setTimeout(r, 600)); // more than one maximum backoff
  const [rp] = await onEhr('RelatedPerson', `${NS}/sid/collateral-contact`, `p-exc:${mrn}`);
  expect(rp.communication).toBeUndefined();
});

test('a note under a 42 CFR Part 2 consent is labeled and links the consent it relied on', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[5];
  await put(practice, 'participants', mother('p-p2', mrn));
  await put(practice, 'consents', activeConsent('c-p2', mrn, ['p-p2'], { legalBasis: '42-cfr-part-2', excludedSensitivities: [] }));
  // A second consent of the client, for someone else: not relied on, not linked.
  await put(practice, 'participants', { ...(mother('p-p2-other', mrn) as object), relationship: 'father', legalGuardian: false });
  await put(practice, 'consents', activeConsent('c-other', mrn, ['p-p2-other']));
  await put(practice, 'sessions', collateralSession('s-p2', mrn, ['p-p2']));
  await put(practice, 'notes', summaryNote('n-p2', 's-p2', 'Fictitious summary.', { sensitivities: ['substance-use'] }));
  await waitState(practice, 'notes', 'n-p2', target, 'synced');
  const [doc] = await onEhr('DocumentReference', `${NS}/sid/note`, 'n-p2');
  const [consent] = await onEhr('Consent', `${NS}/sid/roi`, 'c-p2');
  const act = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  expect(doc.meta.security.map((c: any) => `${c.system}|${c.code}`)).toEqual([
    'http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R',
    `${act}|BH`,
    `${act}|SUD`,
    `${act}|42CFRPart2`,
    `${act}|NORDSCLCDS`,
  ]);
  expect(doc.context.related).toEqual([{ reference: `Consent/${consent.id}` }]);
  // The write's Provenance names the consent relied on as its policy (built by the sync from the gate's decision).
  const prov = await pair.ehr.api('GET', `/fhir/Provenance?target=${encodeURIComponent(`DocumentReference/${doc.id}`)}`);
  expect(prov.body.entry?.length).toBeGreaterThan(0);
  for (const e of prov.body.entry) {
    expect(e.resource.policy).toEqual([`Consent/${consent.id}`]);
  }
  const [enc] = await onEhr('Encounter', `${NS}/sid/session`, 's-p2');
  expect(enc.meta.security.map((c: any) => c.code)).toEqual(['R', 'BH', '42CFRPart2', 'NORDSCLCDS']);
});

test('consent records: a draft stays local; a correction (entered in error) of one already on the EHR follows it there', async () => {
  const { practice, target } = pair;
  const mrn = MRNS[5];
  await put(practice, 'participants', mother('p-cs', mrn));
  await put(practice, 'consents', activeConsent('c-draft', mrn, ['p-cs'], { status: 'draft' }));
  const draft = await waitState(practice, 'consents', 'c-draft', target, 'blocked');
  expect(draft.reason).toBe('consent c-draft is draft: it authorizes nothing and is kept local');
  expect(await onEhr('Consent', `${NS}/sid/roi`, 'c-draft')).toHaveLength(0);

  const signed = activeConsent('c-error', mrn, ['p-cs']);
  await put(practice, 'consents', signed);
  await waitState(practice, 'consents', 'c-error', target, 'synced');
  await put(practice, 'consents', { ...signed, status: 'entered-in-error' });
  await waitFor(async () => (await onEhr('Consent', `${NS}/sid/roi`, 'c-error'))[0]?.status === 'entered-in-error', 20_000, 'the correction on the EHR');
});
