/**
 * The worker's planning from a real target's CapabilityStatement, and what it does with a refusal the
 * target really sends: a worker told (wrongly) that an epic-like server does conditional updates sends
 * one, the server answers 400 not-supported, and the record is parked at once with that
 * OperationOutcome; replayed through a worker that believes the statement, it goes. (Profiles are an
 * HTTP server's: those tests start one.) A type the target can create but not change, on the fakes.
 */
import { PassThrough } from 'node:stream';
import type { Resource } from '@medplum/fhirtypes';
import { fromParts, type TargetCapabilities, type TypeCapabilities } from '../../src/fhir/capabilities.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { createLogger } from '../../src/logger.js';
import { loadMappings } from '../../src/mapping/index.js';
import type { OutboxEntry } from '../../src/store/port.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { chooseWriteMode } from '../../src/sync/writers/index.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { waitFor } from '../helpers/service.js';
import { fakeStore, fakeTarget } from '../helpers/fakes.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset } from './dataset.js';
import { capabilitiesOf, client, MRN_SYSTEM, NS, openStore } from './helpers.js';

function claimingConditional(caps: TargetCapabilities): TargetCapabilities {
  const types = new Map<string, TypeCapabilities>();
  for (const t of ['Patient', 'Practitioner', 'RelatedPerson', 'Encounter', 'Consent', 'DocumentReference', 'Provenance']) {
    const tc = caps.type(t);
    if (tc) {
      types.set(t, { ...tc, conditionalUpdate: true, conditionalCreate: true });
    }
  }
  return fromParts(caps.transaction, caps.batch, types);
}

describe('the worker against real targets', () => {
  const tmp = tempDir();
  let epic: FhirTarget;
  beforeAll(async () => {
    loadFhirDefinitions();
    epic = await startFhirTarget('epic-like', `${tmp.dir}/epic`);
  });
  afterAll(async () => {
    await epic.close();
    tmp.cleanup();
  });

  test('each profile statement leads to its write mode and writable types', async () => {
    const full = await startFhirTarget('full', `${tmp.dir}/full`);
    const oracle = await startFhirTarget('oracle-like', `${tmp.dir}/oracle`);
    try {
      const [f, e, o] = await Promise.all([full, epic, oracle].map((t) => capabilitiesOf(client(t.url))));
      expect([f, e, o].map((c) => chooseWriteMode(c))).toEqual(['transaction', 'sequential', 'batch']);
      expect(chooseWriteMode(f, 'sequential')).toBe('sequential');
      expect(chooseWriteMode(e, 'batch')).toBe('sequential'); // a mode the target lacks is not forced on it
      expect(['RelatedPerson', 'Consent', 'Encounter', 'DocumentReference'].filter((t) => e.can(t, 'create'))).toEqual(['DocumentReference']);
      expect(['RelatedPerson', 'Consent', 'Encounter', 'DocumentReference'].filter((t) => o.can(t, 'create'))).toEqual(['RelatedPerson', 'Encounter', 'DocumentReference']);
      expect(o.can('RelatedPerson', 'update') || o.can('Encounter', 'update')).toBe(false);
      expect(o.can('RelatedPerson', 'patch') && o.can('Encounter', 'patch')).toBe(true);
      expect(o.canSearch('DocumentReference', 'identifier')).toBe(false);
      expect(o.canSearch('DocumentReference', 'patient')).toBe(true);
      expect(o.type('DocumentReference')?.conditionalCreate).toBe(false);
      expect(e.can('Provenance', 'create')).toBe(false);
      expect(o.can('Provenance', 'create') && f.type('Provenance')?.conditionalCreate).toBe(true);
    } finally {
      await Promise.all([full.close(), oracle.close()]);
    }
  });

  test('a 400 from the target parks the record at once with the target OperationOutcome; a replay through a correct worker delivers it', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 1, prefix: 'w' });
    await epic.seed(data.seed);
    const store = openStore(tmp.dir, 'worker.sqlite');
    const logs = new PassThrough();
    const common = {
      store,
      target: client(epic.url, 5000, 'epic'),
      mappings: loadMappings(),
      mappingConfig: { ns: NS, mrnSystem: MRN_SYSTEM },
      logger: createLogger('error', logs),
      pollIntervalMs: 20,
      concurrency: 2,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      requestTimeoutMs: 5000,
    };
    try {
      for (const r of data.records) {
        await store.records.putRecord({ kind: r.kind, record: r.record as any, clientMrn: 'MRN-w0', clientKey: 'MRN-w0', targets: ['epic'] });
      }
      const note = data.permitted.find((r) => r.kind === 'note')!;
      const wrong = new SyncWorker({ ...common, adjustCapabilities: claimingConditional });
      wrong.start();
      const parked = await waitFor(async () => (await store.status.listDeadLetters({ kind: 'note', recordId: note.record.id }))[0]);
      await wrong.stop();
      expect(parked).toMatchObject({ reasonCode: 'upstream-400', target: 'epic' });
      expect(parked.reason).toMatch(/^refused by the target \(HTTP 400\): Conditional update/);
      expect(parked.outcome?.issue).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'not-supported' })]));
      expect(await epic.countByIdentifier('DocumentReference', `${NS}/sid/note`, note.record.id)).toBe(0);
      // Participants, consent and session cannot be written there at all: explicit, not parked.
      for (const r of data.permitted.filter((x) => x.kind !== 'note')) {
        expect((await store.status.getSyncStates(r.kind, r.record.id))[0]).toMatchObject({ state: 'not-writable', reasonCode: 'not-writable' });
      }

      expect(await store.outbox.requeue([{ kind: 'note', id: note.record.id }], 'epic')).toBe(1);
      const right = new SyncWorker(common);
      right.start();
      await waitFor(async () => (await store.status.getSyncStates('note', note.record.id))[0].state === 'synced');
      await right.stop();
      expect(await epic.countByIdentifier('DocumentReference', `${NS}/sid/note`, note.record.id)).toBe(1);
      const [doc] = (await epic.search('DocumentReference', { identifier: `${NS}/sid/note|${note.record.id}` })) as Resource[];
      expect((doc as any).context.encounter).toEqual([{ type: 'Encounter', identifier: { system: `${NS}/sid/session`, value: 's-w0-0' } }]);
      const noteState = (await store.status.getSyncStates('note', note.record.id))[0];
      expect(noteState.reason).toMatch(/Encounter.*referenced by identifier only/);
      // The claim never hands out a parked entry, and the replay cleared the park.
      const claimed: OutboxEntry[] = await store.outbox.claimOutbox('epic', 10, 1000);
      expect(claimed.map((c) => c.recordId)).not.toContain(note.record.id);
    } finally {
      await store.close();
    }
  });
});

/** Planning and settling that need some full target and store, not HTTP: on the fakes (test/helpers/fakes.ts). */
describe('the worker on the fakes', () => {
  beforeAll(() => {
    loadFhirDefinitions();
  });

  test('a changed record whose type the target can create but not change is not-writable; the first version stays', async () => {
    const full = fakeTarget('full');
    const data = buildDataset({ clients: 1, sessionsPerClient: 0, prefix: 'u' });
    await full.seed(data.seed);
    const store = fakeStore();
    const withoutChanges = (caps: TargetCapabilities): TargetCapabilities => {
      const types = new Map<string, TypeCapabilities>();
      for (const t of ['Patient', 'Practitioner', 'RelatedPerson', 'Consent', 'Provenance']) {
        const tc = caps.type(t)!;
        const interactions = new Set([...tc.interactions].filter((i) => t !== 'RelatedPerson' || (i !== 'update' && i !== 'patch')));
        types.set(t, { ...tc, interactions, conditionalUpdate: t === 'RelatedPerson' ? false : tc.conditionalUpdate });
      }
      return fromParts(false, false, types);
    };
    const worker = new SyncWorker({
      store,
      target: full.target,
      mappings: loadMappings(),
      mappingConfig: { ns: NS, mrnSystem: MRN_SYSTEM },
      logger: createLogger('error', new PassThrough()),
      pollIntervalMs: 20,
      concurrency: 2,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      requestTimeoutMs: 5000,
      adjustCapabilities: withoutChanges,
    });
    try {
      const guardian = data.permitted.find((r) => r.kind === 'participant')!;
      const put = (record: object) => store.records.putRecord({ kind: 'participant', record: record as any, clientMrn: 'MRN-u0', clientKey: 'MRN-u0', targets: ['full'] });
      await store.records.putRecord({ kind: 'consent', record: data.records.find((r) => r.kind === 'consent')!.record as any, clientMrn: 'MRN-u0', clientKey: 'MRN-u0', targets: ['full'] });
      await put(guardian.record);
      worker.start();
      await waitFor(async () => (await store.status.getSyncStates('participant', guardian.record.id))[0].state === 'synced');
      const [first] = await store.ledger.getLedgerForRecord('full', 'participant', guardian.record.id);
      await put({ ...guardian.record, name: { given: ['Pat'], family: 'Renamed' } });
      const state = await waitFor(async () => {
        const s = (await store.status.getSyncStates('participant', guardian.record.id))[0];
        return s.state === 'not-writable' ? s : undefined;
      });
      expect(state.reason).toMatch(/the target cannot update RelatedPerson/);
      expect(await store.ledger.getLedgerForRecord('full', 'participant', guardian.record.id)).toEqual([first]);
      const [onServer] = await full.search('RelatedPerson', { identifier: first.identifier });
      // The first version is the only one on the target.
      expect(await full.versions('RelatedPerson', onServer.id as string)).toEqual([first.versionId]);
    } finally {
      await worker.stop();
      await store.close();
    }
  });
});
