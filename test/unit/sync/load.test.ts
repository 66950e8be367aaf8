/**
 * The load stage on the real SQLite store: a claimed batch's records and their dependencies are read
 * in one `getRecords` per kind and dependency level, whatever the batch's size; the gate's facts per
 * entry; a dependency not received is a hold of that entry only; a record gone settles as nothing to send.
 * And the plan's reads: a dependency queued to go first holds the record before anything is looked up on the target.
 */
import { createConsentGate, type ConsentFacts } from '../../../src/consent/gate.js';
import type { AnyRecord, RecordKind } from '../../../src/domain/records.js';
import type { OutboxEntry, Store } from '../../../src/store/port.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { fromParts, type TypeCapabilities } from '../../../src/fhir/capabilities.js';
import type { FhirTarget } from '../../../src/fhir/port.js';
import { loadMappings } from '../../../src/mapping/index.js';
import { recordsToMap, withDisclosure } from '../../../src/sync/context.js';
import { IdentityResolver } from '../../../src/sync/identity.js';
import { loadBatch, type LoadedEntry } from '../../../src/sync/load.js';
import { mapForPlan } from '../../../src/sync/plan.js';
import { loadAndPlan } from '../../../src/sync/plan-facts.js';
import { tempDir } from '../../helpers/tmp.js';
import { consent, note, session } from '../../consent/builders.js';

const config = { ns: 'https://fhir.example-practice.org', mrnSystem: 'https://fhir.example-hospital.org/sid/mrn' };
const tmp = tempDir('sync-load-');
let store: SqliteStore;
const CLIENTS = 12;

beforeAll(async () => {
  store = new SqliteStore(`${tmp.dir}/collateral.sqlite`);
  const put = (kind: RecordKind, record: AnyRecord, mrn: string): Promise<unknown> => store.records.putRecord({ kind, record, clientMrn: mrn, clientKey: mrn, targets: ['t'] });
  for (let c = 0; c < CLIENTS; c++) {
    const mrn = `MRN-${c}`;
    await put('participant', { id: `p-${c}`, client: { mrn }, relationship: 'mother', legalGuardian: true }, mrn);
    await put('consent', consent({ id: `c-${c}`, client: { mrn }, recipients: [`p-${c}`], signedBy: { participantId: `p-${c}` } }), mrn);
    await put('session', session({ id: `s-${c}`, client: { mrn }, participants: [{ participantId: `p-${c}` }] }), mrn);
    await put('note', note({ id: `n-${c}`, sessionId: `s-${c}` }), mrn);
  }
  // A note whose session has not arrived.
  await put('note', note({ id: 'n-orphan', sessionId: 's-missing' }), 'MRN-X');
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

/** The real store's records slice, with its reads counted. */
function counted(): { store: Pick<Store, 'records'>; reads: string[] } {
  const reads: string[] = [];
  const records = store.records;
  return {
    reads,
    store: {
      records: {
        ...records,
        getRecord: (kind, id) => (reads.push(`getRecord ${kind}`), records.getRecord(kind, id)),
        getRecords: (kind, ids) => (reads.push(`getRecords ${kind}`), records.getRecords(kind, ids)),
        putRecord: records.putRecord.bind(records),
        putRecords: records.putRecords.bind(records),
        putRecordGroup: records.putRecordGroup.bind(records),
        listRecords: records.listRecords.bind(records),
      },
    },
  };
}

function entry(kind: RecordKind, recordId: string, clientKey: string): OutboxEntry {
  return { seq: 1, kind, recordId, target: 't', recordVersion: 1, clientKey, attempts: 0, failures: 0 };
}

test('a batch of notes and sessions of many clients is read in one getRecords per kind and level', async () => {
  const { store: s, reads } = counted();
  const gate = createConsentGate(store, { timeZone: 'UTC' });
  const entries = [
    ...Array.from({ length: CLIENTS / 2 }, (_, c) => entry('note', `n-${c}`, `MRN-${c}`)),
    ...Array.from({ length: CLIENTS / 2 }, (_, c) => entry('session', `s-${c + CLIENTS / 2}`, `MRN-${c + CLIENTS / 2}`)),
  ];
  const loaded = await loadBatch(s, gate, entries, config);
  // Mains: notes, sessions; level 1: the notes' sessions, the sessions' participants; level 2: those sessions' participants.
  expect(reads).toEqual(['getRecords note', 'getRecords session', 'getRecords session', 'getRecords participant', 'getRecords participant']);
  expect(loaded).toHaveLength(entries.length);
  const first = loaded[0] as Extract<LoadedEntry, { records: unknown }>;
  expect(first.records.map((r) => `${r.record.kind}/${r.record.id}`)).toEqual(['participant/p-0', 'session/s-0', 'note/n-0']);
  expect((first.gateFacts as ConsentFacts).consents.map((c) => c.id)).toEqual(['c-0']);
  const last = loaded[loaded.length - 1] as Extract<LoadedEntry, { records: unknown }>;
  expect(last.records.map((r) => `${r.record.kind}/${r.record.id}`)).toEqual([`participant/p-${CLIENTS - 1}`, `session/s-${CLIENTS - 1}`]);
});

test('a dependency not received holds its entry only; a record gone is nothing to send', async () => {
  const gate = createConsentGate(store, { timeZone: 'UTC' });
  const loaded = await loadBatch(store, gate, [entry('note', 'n-orphan', 'MRN-X'), entry('participant', 'p-gone', 'MRN-Y'), entry('consent', 'c-1', 'MRN-1')], config);
  expect(loaded[0]).toMatchObject({ error: { code: 'waiting-for-record', waitFor: ['record:session/s-missing'] } });
  expect(loaded[1]).toEqual({ entry: expect.objectContaining({ recordId: 'p-gone' }), record: undefined });
  expect(loaded[2]).toMatchObject({ record: { id: 'c-1' }, gateFacts: { onTarget: false } });
});

test('the plan reads the store first: a queued dependency holds the record without a search on the target', async () => {
  const searches: string[] = [];
  // Only counts: the hold must come before any search, so none may be made.
  const target = { name: 't', search: async (type: string) => (searches.push(type), { resourceType: 'Bundle', type: 'searchset', entry: [] }) } as unknown as FhirTarget;
  const types = new Map<string, TypeCapabilities>(
    ['Patient', 'Practitioner', 'RelatedPerson', 'Encounter', 'Consent'].map((t) => [
      t,
      { interactions: new Set(['create', 'update', 'search-type']), conditionalCreate: true, conditionalUpdate: true, versioned: true, searchParams: new Set(['identifier']) },
    ])
  );
  const main = await store.records.getRecord('session', 's-0');
  const index = new Map([['session/s-0', main!], ['participant/p-0', (await store.records.getRecord('participant', 'p-0'))!]]);
  const mapped = mapForPlan(withDisclosure(recordsToMap(main!, index, config), { consents: [], purposeOfUse: 'TREAT' }), loadMappings());
  // p-0 was never delivered: its state on t is pending, so it goes first.
  await expect(loadAndPlan({ store, targetName: 't', identity: new IdentityResolver(target) }, mapped, { caps: fromParts(true, true, types) })).rejects.toMatchObject({
    code: 'waiting-for-dependency',
    waitFor: ['dep:participant/p-0'],
  });
  expect(searches).toEqual([]);
});
