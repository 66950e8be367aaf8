/**
 * The consent gate on the real SQLite store: it reads the client's consents and participants at the
 * moment it is asked (so a revocation stored a moment ago counts), reads period dates in the configured
 * time zone, and finds a note's client through its session. Plus the PRACTICE_TIME_ZONE setting.
 */
import { loadConfig } from '../../src/config.js';
import { createConsentGate } from '../../src/consent/gate.js';
import type { AnyRecord, RecordKind } from '../../src/domain/records.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { gatherRecords } from '../../src/sync/context.js';
import { tempDir } from '../helpers/tmp.js';
import { consent, MRN, note, participants, session } from './builders.js';

const config = { ns: 'https://fhir.example-practice.org', mrnSystem: 'https://fhir.example-hospital.org/sid/mrn' };
const tmp = tempDir('consent-gate-');
let store: SqliteStore;

beforeAll(() => {
  store = new SqliteStore(`${tmp.dir}/collateral.sqlite`);
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

async function save(kind: RecordKind, record: AnyRecord, clientMrn: string | null = MRN): Promise<void> {
  await store.records.putRecord({ kind, record, clientMrn, clientKey: clientMrn ?? 'none', targets: ['t'] });
}

async function ask(kind: RecordKind, id: string, timeZone = 'UTC', now = new Date('2026-02-02T12:00:00Z')): Promise<Awaited<ReturnType<ReturnType<typeof createConsentGate>['decide']>>> {
  const main = await store.records.getRecord(kind, id);
  if (!main) {
    throw new Error(`${kind}/${id} not stored`);
  }
  const records = await gatherRecords(store, main, config);
  return createConsentGate(store, { timeZone }).decide({ main, records, target: 't', now });
}

test('a revocation stored a moment ago is honoured by the very next decision', async () => {
  await save('participant', participants.mother);
  await save('consent', consent({ id: 'c-g1' }));
  await save('session', session({ id: 's-g1' }));
  expect(await ask('session', 's-g1')).toMatchObject({ effect: 'permit', consentIds: ['c-g1'], purposeOfUse: 'TREAT' });
  await save('consent', consent({ id: 'c-g1', status: 'revoked', revocation: { at: '2026-02-02T08:00:00Z' } }));
  expect(await ask('session', 's-g1')).toMatchObject({ effect: 'hold', reasons: ['no consent covers p-001 on 2026-02-01 (c-g1 was revoked at 2026-02-02T08:00:00Z)'] });
});

test('period dates are read in the configured zone', async () => {
  await save('consent', consent({ id: 'c-g2', period: { start: '2026-01-10', end: '2026-02-01' } }));
  await save('session', session({ id: 's-g2', start: '2026-02-01T22:30:00-05:00', end: null, consentIds: ['c-g2'] }));
  const now = new Date('2026-02-01T23:45:00-05:00');
  expect((await ask('session', 's-g2', 'UTC', now)).effect).toBe('hold');
  expect(await ask('session', 's-g2', 'America/New_York', now)).toMatchObject({ effect: 'permit', consentIds: ['c-g2'] });
});

test("a note stored before its session is judged with its session's client and consents", async () => {
  await save('note', note({ id: 'n-g3', sessionId: 's-g3', kind: 'progress-note' }), null);
  await save('session', session({ id: 's-g3' }));
  await save('consent', consent({ id: 'c-g3', dataClasses: ['progress-note'] }));
  expect(await ask('note', 'n-g3')).toMatchObject({ effect: 'permit', consentIds: ['c-g3'] });
});

test("participants of another client cover nothing for this one", async () => {
  await save('participant', { ...participants.teacher, id: 'p-other', client: { mrn: 'MRN-OTHER' } }, 'MRN-OTHER');
  await save('consent', consent({ id: 'c-g4', recipients: ['p-other'], signedBy: null }));
  await save('session', session({ id: 's-g4', participants: [{ participantId: 'p-other' }] }));
  expect(await ask('session', 's-g4')).toMatchObject({ effect: 'hold', reasons: ['participant p-other of session s-g4 is not a participant of this client'] });
});

describe('PRACTICE_TIME_ZONE', () => {
  test('defaults to UTC and accepts IANA names', () => {
    expect(loadConfig({}).practiceTimeZone).toBe('UTC');
    expect(loadConfig({ PRACTICE_TIME_ZONE: 'America/Chicago' }).practiceTimeZone).toBe('America/Chicago');
  });

  test('an unknown zone stops the start with a message naming the setting', () => {
    expect(() => loadConfig({ PRACTICE_TIME_ZONE: 'Eastern' })).toThrow(/PRACTICE_TIME_ZONE must be an IANA time zone such as America\/New_York \(got "Eastern"\)/);
  });
});
