/**
 * The canary: psychotherapy notes carrying a unique marker are submitted every way the API allows (PUT,
 * NDJSON import, a rejected PUT, and an update turning a synced summary into a psychotherapy note).
 * Afterwards the marker is in no outbound HTTP request or response (a recording proxy sees every byte the
 * sync sends), no FHIR resource (the EHR's API and its database file), no log line of either instance and
 * no outbox row the practice's store ever held (a trigger copies every row written). A session summary
 * with a second marker goes the same way and is found everywhere it should be: the checks can see.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { NS } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/service.js';
import { PSYCHOTHERAPY_NOTE_REASON } from '../../src/intake/policy.js';
import { fileHolds, textHolds } from './helpers/marker.js';
import { type ServicePair, startPair } from './helpers/pair.js';
import { activeConsent, collateralSession, mother, put, summaryNote, waitState } from './helpers/records.js';

const MRN = 'MRN-6001';
const SECRET = 'CANARY-PSY-9d4f2b7e1a';
const CONTROL = 'CONTROL-SUMMARY-3e8a1c55';

let pair: ServicePair;
let outboxLog: Database.Database;
const answers: Record<string, any> = {};

beforeAll(async () => {
  pair = await startPair([MRN]);
  const { practice, target } = pair;
  // Every row the outbox ever holds (inserted or updated), copied aside before the sync can delete it.
  outboxLog = new Database(join(practice.dataDir, 'collateral.sqlite'));
  outboxLog.exec(`
    CREATE TABLE canary_outbox_log (row TEXT NOT NULL);
    CREATE TRIGGER canary_outbox_insert AFTER INSERT ON outbox BEGIN
      INSERT INTO canary_outbox_log VALUES (json_array(NEW.seq, NEW.kind, NEW.record_id, NEW.target, NEW.record_version, NEW.client_key, NEW.enqueued_at));
    END;
    CREATE TRIGGER canary_outbox_update AFTER UPDATE ON outbox BEGIN
      INSERT INTO canary_outbox_log VALUES (json_array(NEW.seq, NEW.kind, NEW.record_id, NEW.target, NEW.record_version, NEW.client_key, NEW.enqueued_at));
    END;`);

  await put(practice, 'participants', mother('p-can', MRN));
  await put(practice, 'consents', activeConsent('c-can', MRN, ['p-can'], { dataClasses: ['attendance', 'session-summary', 'progress-note'] }));
  await put(practice, 'sessions', collateralSession('s-can', MRN, ['p-can'], { type: 'family', clientPresent: true }));
  await put(practice, 'notes', summaryNote('n-control', 's-can', `Summary ${CONTROL}`));
  await put(practice, 'notes', summaryNote('n-flip', 's-can', 'A harmless first version.'));
  await waitState(practice, 'notes', 'n-control', target, 'synced');
  await waitState(practice, 'notes', 'n-flip', target, 'synced');

  // 1. PUT of a psychotherapy note.
  const psy = summaryNote('n-psy', 's-can', `Process note: ${SECRET} impressions of the family session`, { kind: 'psychotherapy-note' });
  answers.put = await put(practice, 'notes', psy);
  // 2. The same through the NDJSON import.
  const line = JSON.stringify({ kind: 'note', record: { ...psy, id: 'n-psy-import', text: `${SECRET} (imported)` } });
  answers.imported = (await practice.api('POST', '/api/v1/import', `${line}\n`, { 'content-type': 'application/x-ndjson' })).body;
  // 3. A rejected one (bad status): refused at the door, and its text must not reach a log either.
  answers.rejected = (await practice.api('PUT', '/api/v1/notes/n-psy-bad', { ...psy, id: 'n-psy-bad', status: 'whatever' })).status;
  // 4. A synced summary rewritten as a psychotherapy note: the new text stays local.
  await put(practice, 'notes', { ...psy, id: 'n-flip', text: `Rewritten: ${SECRET} as a process note` });

  // Let the sync run: nothing of this client left to do, and several polls more.
  await waitFor(async () => (await practice.store.status.outboxSize()) === 0, 20_000, 'an empty outbox');
  await new Promise((r) => setTimeout(r, 600));
});

afterAll(async () => {
  outboxLog?.close();
  await pair.close();
});

test('every way in was taken: accepted and blocked at once, imported, rejected', () => {
  expect(answers.put.sync).toEqual([{ target: 'local', state: 'blocked', reason: PSYCHOTHERAPY_NOTE_REASON, attempts: 0, updatedAt: expect.any(String) }]);
  expect(answers.imported).toMatchObject({ accepted: 1, rejected: 0 });
  expect(answers.rejected).toBe(400);
});

test('the control note went out (the checks below can see a marker where it is)', async () => {
  expect(pair.proxy.exchanges.some((x) => !x.refused && textHolds(x.body, CONTROL))).toBe(true);
  expect(fileHolds(join(pair.ehr.dataDir, 'fhir.sqlite'), CONTROL)).toBe(true);
  const docs = await pair.ehr.api('GET', `/fhir/DocumentReference?identifier=${encodeURIComponent(`${NS}/sid/note|n-control`)}`);
  expect(textHolds(docs.text, CONTROL)).toBe(true);
});

test('no outbound HTTP request or response carries the marker', () => {
  expect(pair.proxy.exchanges.length).toBeGreaterThan(0);
  const leaks = pair.proxy.exchanges.filter((x) => textHolds(`${x.url}\n${x.body}\n${x.responseBody ?? ''}`, SECRET));
  expect(leaks).toEqual([]);
  // Not even the psychotherapy notes' ids were ever sent.
  expect(pair.proxy.exchanges.filter((x) => /n-psy/.test(`${x.url}${x.body}`))).toEqual([]);
});

test('no FHIR resource carries the marker: not through the API, not in the database file', async () => {
  const all = await pair.ehr.api('GET', '/fhir/DocumentReference?_count=1000');
  expect(all.status).toBe(200);
  expect(textHolds(all.text, SECRET)).toBe(false);
  expect(fileHolds(join(pair.ehr.dataDir, 'fhir.sqlite'), SECRET)).toBe(false);
  // The flipped note's first (harmless) version was disclosed before it changed, and is all the EHR has.
  const flip = await pair.ehr.api('GET', `/fhir/DocumentReference?identifier=${encodeURIComponent(`${NS}/sid/note|n-flip`)}`);
  expect(Buffer.from(flip.body.entry[0].resource.content[0].attachment.data, 'base64').toString('utf8')).toBe('A harmless first version.');
});

test('no log line of either instance carries the marker', () => {
  expect(textHolds(pair.practice.logs(), SECRET)).toBe(false);
  expect(textHolds(pair.ehr.logs(), SECRET)).toBe(false);
});

test('no outbox row ever named a psychotherapy note or carried the marker', () => {
  const rows = (outboxLog.prepare('SELECT row FROM canary_outbox_log').all() as { row: string }[]).map((r) => r.row);
  expect(rows.some((r) => r.includes('n-control'))).toBe(true); // the trigger saw the ordinary traffic
  expect(rows.filter((r) => /n-psy/.test(r) || textHolds(r, SECRET))).toEqual([]);
  // n-flip went through the outbox as a summary (version 1) and never again once it became a psychotherapy note.
  expect(rows.filter((r) => r.includes('"n-flip"')).map((r) => JSON.parse(r)[4])).toEqual(expect.arrayContaining([1]));
  expect(rows.filter((r) => r.includes('"n-flip"')).map((r) => JSON.parse(r)[4])).not.toContain(2);
  const current = JSON.stringify(outboxLog.prepare('SELECT * FROM outbox').all());
  expect(textHolds(current, SECRET)).toBe(false);
});

test('each psychotherapy note is kept locally and its state says why', async () => {
  for (const id of ['n-psy', 'n-psy-import', 'n-flip']) {
    const r = await pair.practice.api('GET', `/api/v1/notes/${id}`);
    expect(r.body.record.kind).toBe('psychotherapy-note');
    expect(r.body.sync).toEqual([expect.objectContaining({ target: 'local', state: 'blocked', reason: PSYCHOTHERAPY_NOTE_REASON })]);
  }
  // A replay request does not queue them either.
  expect(await pair.practice.store.outbox.requeue([{ kind: 'note', id: 'n-psy' }], pair.target)).toBe(0);
});
