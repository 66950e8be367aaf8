/**
 * Held records wait for an event, not a timer (issue #8 item 2), through the real service and its
 * embedded FHIR server, with the periodic recheck a week away: a consent arriving releases exactly the
 * records it covers (the others are not even looked at again), a change to a held participant looks at
 * what waits for it again without logging the unchanged hold twice, and the log names the hold by id
 * and reason code only (issue #10 item 7).
 */
import { NS, seedBundle } from '../helpers/fixtures.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const MRN = 'MRN-1001';
const WEEK_MS = 7 * 86_400_000;

const participant = (id: string, family: string): object => ({ id, client: { mrn: MRN }, name: { given: ['Alex'], family }, relationship: 'teacher' });
const session = (id: string, participantId: string): object => ({
  id,
  client: { mrn: MRN },
  therapist: { npi: '1234567893' },
  type: 'collateral',
  clientPresent: false,
  participants: [{ participantId }],
  modality: 'phone',
  status: 'completed',
  start: '2026-03-01T10:00:00-05:00',
  end: '2026-03-01T10:45:00-05:00',
});
const consent = (id: string, recipient: string): object => ({
  id,
  client: { mrn: MRN },
  status: 'active',
  recipients: [recipient],
  actions: ['disclose'],
  purposes: ['treatment'],
  dataClasses: ['session-summary'],
  period: { start: '2026-01-01', end: '2099-12-31' },
  signedAt: '2026-01-01T09:00:00Z',
  legalBasis: 'hipaa-authorization',
});

describe('held records and events', () => {
  const tmp = tempDir();
  let svc: TestService;
  const state = async (collection: string, id: string): Promise<{ state: string; reasonCode?: string; attempts: number; nextAttemptAt?: string }> =>
    (await svc.api('GET', `/api/v1/${collection}/${id}`)).body.sync[0];
  const heldLines = (recordId: string): number => svc.logs().split('\n').filter((l) => l.includes('"message":"record held"') && l.includes(`"recordId":"${recordId}"`)).length;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_HELD_RECHECK_MS: String(WEEK_MS) });
    expect((await svc.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' })).status).toBe(200);
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('a consent arriving releases exactly the records it covers, without a timer', async () => {
    for (const [collection, body] of [
      ['participants', participant('p-w1', 'Teacher1')],
      ['participants', participant('p-w2', 'Teacher2')],
      ['sessions', session('s-w1', 'p-w1')],
      ['sessions', session('s-w2', 'p-w2')],
    ] as const) {
      expect((await svc.api('PUT', `/api/v1/${collection}/${(body as { id: string }).id}`, body)).status).toBe(201);
    }
    const held = await waitFor(async () => {
      const all = await Promise.all([state('participants', 'p-w1'), state('participants', 'p-w2'), state('sessions', 's-w1'), state('sessions', 's-w2')]);
      return all.every((s) => s.state === 'held') ? all : undefined;
    }, 20_000, 'all four held');
    for (const s of held) {
      expect(s.reasonCode).toBe('no-consent');
      // Nothing brings them back before the recheck a week away but an event or an operator.
      expect(Date.parse(s.nextAttemptAt!) - Date.now()).toBeGreaterThan(WEEK_MS - 3_600_000);
    }
    const before = { p2: (await state('participants', 'p-w2')).attempts, s2: (await state('sessions', 's-w2')).attempts };

    expect((await svc.api('PUT', '/api/v1/consents/c-w1', consent('c-w1', 'p-w1'))).status).toBe(201);
    await waitFor(async () => (await state('sessions', 's-w1')).state === 'synced' && (await state('participants', 'p-w1')).state === 'synced', 20_000, 'p-w1 and s-w1 synced');
    const enc = (await svc.api('GET', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-w1`)}`)).body;
    expect(enc.total ?? enc.entry?.length).toBe(1);
    // The records of the other participant were not looked at again: same state, same attempts.
    expect(await state('participants', 'p-w2')).toMatchObject({ state: 'held', attempts: before.p2 });
    expect(await state('sessions', 's-w2')).toMatchObject({ state: 'held', attempts: before.s2 });
    expect((await svc.api('GET', `/fhir/Encounter?identifier=${encodeURIComponent(`${NS}/sid/session|s-w2`)}`)).body.entry ?? []).toHaveLength(0);
  });

  test('a change to a held participant looks again at what waits for it; an unchanged hold is logged once', async () => {
    const before = await state('sessions', 's-w2');
    expect(before.state).toBe('held');
    expect(heldLines('s-w2')).toBe(1);
    // A new version of the participant (still without consent): its session is looked at again, still held.
    expect((await svc.api('PUT', '/api/v1/participants/p-w2', participant('p-w2', 'Renamed'))).status).toBe(200);
    await waitFor(async () => (await state('sessions', 's-w2')).attempts > before.attempts, 20_000, 's-w2 looked at again');
    expect(await state('sessions', 's-w2')).toMatchObject({ state: 'held', reasonCode: 'no-consent' });
    await waitFor(async () => (await state('participants', 'p-w2')).state === 'held', 20_000, 'p-w2 held again');
    expect(heldLines('s-w2')).toBe(1);
    // The new version of the participant is a change of state (pending, then held again): logged again.
    expect(heldLines('p-w2')).toBe(2);
    // By id and reason code only: no names, no reason text.
    const lines = svc.logs().split('\n').filter((l) => l.includes('"message":"record held"'));
    for (const line of lines) {
      expect(Object.keys(JSON.parse(line)).sort()).toEqual(['kind', 'level', 'message', 'reason', 'recordId', 'service', 'target', 'timestamp']);
    }
    expect(svc.logs()).not.toMatch(/Renamed|Teacher2|no consent covers/);
  });

  test('a note waiting for its session is released when the session arrives', async () => {
    const note = { id: 'n-w1', sessionId: 's-w3', author: { npi: '1234567893' }, kind: 'session-summary', status: 'final', contentType: 'text/plain', text: 'fine' };
    expect((await svc.api('PUT', '/api/v1/notes/n-w1', note)).status).toBe(201);
    await waitFor(async () => (await state('notes', 'n-w1')).state === 'held', 20_000, 'the note held');
    expect((await svc.api('PUT', '/api/v1/consents/c-w3', { ...consent('c-w3', 'p-w1'), dataClasses: ['session-summary'] })).status).toBe(201);
    expect((await svc.api('PUT', '/api/v1/sessions/s-w3', session('s-w3', 'p-w1'))).status).toBe(201);
    await waitFor(async () => (await state('notes', 'n-w1')).state === 'synced', 20_000, 'the note synced');
    const doc = (await svc.api('GET', `/fhir/DocumentReference?identifier=${encodeURIComponent(`${NS}/sid/note|n-w1`)}`)).body;
    expect(doc.entry).toHaveLength(1);
  });
});
