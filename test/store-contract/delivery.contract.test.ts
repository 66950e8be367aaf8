/**
 * The store's delivery state, on every implementation (harness.ts): dead letters are parked out of the
 * claim (and do not block their client), a new version or a replay brings them back, failures and their
 * age are counted, not-writable removes the entry, write intents are cleared by the ledger, holds and
 * wake-ups, arrival order, and the status figures. (Moved from test/sync/store.test.ts.)
 */
import type { Store } from '../../src/store/port.js';
import { describeStores } from './harness.js';
import { ledger, participant, put as putFor } from './fixtures.js';

const put = (record: ReturnType<typeof participant>) => putFor(record);

describeStores('delivery state', (h) => {
  let store: Store;
  beforeEach(() => {
    store = h().store;
  });

  test('a dead letter is never claimed, does not hold back its client, and is listed with its outcome', async () => {
    await store.records.putRecord(put(participant('p-1')));
    await store.records.putRecord(put(participant('p-2')));
    const [first] = await store.outbox.claimOutbox('t1', 10, 60_000);
    expect(first.recordId).toBe('p-1');
    const outcome = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'invalid' as const }] };
    await store.outbox.settle([{ entry: first, state: 'dead-letter', reason: 'refused by the target (HTTP 422): x', code: 'upstream-422', outcome }]);
    const next = await store.outbox.claimOutbox('t1', 10, 60_000);
    expect(next.map((e) => e.recordId)).toEqual(['p-2']);
    const dead = await store.status.listDeadLetters({ target: 't1' });
    expect(dead).toEqual([expect.objectContaining({ kind: 'participant', recordId: 'p-1', clientMrn: 'MRN-1', reasonCode: 'upstream-422', failures: 1, outcome })]);
    expect(await store.status.listDeadLetters({ reasonCode: 'upstream-500' })).toEqual([]);
    expect(await store.status.listDeadLetters({ clientMrn: 'MRN-2' })).toEqual([]);
    expect((await store.status.getSyncStates('participant', 'p-1'))[0]).toMatchObject({ state: 'dead-letter', reasonCode: 'upstream-422' });
  });

  test('a new version of a dead letter and a replay both bring it back with its failures reset', async () => {
    await store.records.putRecord(put(participant('p-1')));
    const [e] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry: e, state: 'failed', reason: 'x', nextAttemptAt: new Date(0), code: 'upstream-500' }]);
    const [again] = await store.outbox.claimOutbox('t1', 1, 60_000);
    expect(again).toMatchObject({ failures: 1, failingSince: expect.any(Number) });
    await store.outbox.settle([{ entry: again, state: 'dead-letter', reason: 'gave up', code: 'retries-exhausted' }]);
    await store.records.putRecord(put(participant('p-1', 'MRN-1', 'Changed')));
    const [v2] = await store.outbox.claimOutbox('t1', 1, 60_000);
    expect(v2).toMatchObject({ recordVersion: 2, failures: 0 });
    expect(v2.failingSince).toBeUndefined();
    await store.outbox.settle([{ entry: v2, state: 'dead-letter', reason: 'gave up', code: 'retries-exhausted' }]);
    expect(await store.outbox.requeue([{ kind: 'participant', id: 'p-1' }], 't1')).toBe(1);
    expect(await store.status.listDeadLetters({})).toEqual([]);
    expect(await store.outbox.claimOutbox('t1', 1, 60_000)).toEqual([expect.objectContaining({ recordId: 'p-1', failures: 0, attempts: 0 })]);
  });

  test('a throttled attempt does not count as a failure; a held one neither', async () => {
    await store.records.putRecord(put(participant('p-1')));
    const [e] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry: e, state: 'failed', reason: 'wait', nextAttemptAt: new Date(0), code: 'upstream-429', countFailure: false }]);
    const [e2] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry: e2, state: 'held', reason: 'patient-not-found: x', recheckAt: new Date(0), code: 'patient-not-found' }]);
    const [e3] = await store.outbox.claimOutbox('t1', 1, 60_000);
    expect(e3).toMatchObject({ attempts: 2, failures: 0 });
  });

  test('not-writable removes the entry and says so; a requeue brings it back', async () => {
    await store.records.putRecord(put(participant('p-1')));
    const [e] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry: e, state: 'not-writable', reason: 'not writable on this target: the target cannot create RelatedPerson; kept in our store' }]);
    expect(await store.status.outboxSize('t1')).toBe(0);
    expect((await store.status.getSyncStates('participant', 'p-1'))[0]).toMatchObject({ state: 'not-writable', reasonCode: 'not-writable' });
    expect(await store.status.listSyncStates({ state: 'not-writable' })).toEqual([expect.objectContaining({ recordId: 'p-1', clientMrn: 'MRN-1' })]);
    expect(await store.outbox.requeue([{ kind: 'participant', id: 'p-1' }], 't1')).toBe(1);
    expect((await store.status.getSyncStates('participant', 'p-1'))[0].state).toBe('pending');
  });

  test('a write intent stays until the ledger learns the resource', async () => {
    const id = 'https://x/sid/note|n-1';
    await store.ledger.putWriteIntent({ target: 't1', resourceType: 'DocumentReference', identifier: id, kind: 'note', recordId: 'n-1', createdAt: new Date().toISOString() });
    expect(await store.ledger.getWriteIntent('t1', 'DocumentReference', id)).toMatchObject({ recordId: 'n-1' });
    await store.ledger.recordLedger([ledger(id, { resourceType: 'DocumentReference', kind: 'note', recordId: 'n-1' })]);
    expect(await store.ledger.getWriteIntent('t1', 'DocumentReference', id)).toBeUndefined();
    expect(await store.ledger.listLedger('t1')).toHaveLength(1);
    await store.ledger.deleteLedger('t1', 'DocumentReference', id);
    expect(await store.ledger.listLedger('t1')).toEqual([]);
  });

  test('several ledger entries by identifier in one read: those found, on that target only', async () => {
    await store.ledger.recordLedger([
      ledger('sys|p-1:MRN-1', { resourceId: 'rp-1' }),
      ledger('sys|p-2:MRN-1', { resourceId: 'rp-2' }),
      ledger('sys|s-1', { resourceType: 'Encounter', resourceId: 'enc-1' }),
      ledger('sys|p-3:MRN-1', { target: 't2', resourceId: 'rp-3' }),
    ]);
    const found = await store.ledger.getLedgerByIdentifiers('t1', [
      { resourceType: 'RelatedPerson', identifier: 'sys|p-2:MRN-1' },
      { resourceType: 'Encounter', identifier: 'sys|s-1' },
      // The same identifier under another type, an unknown one, and one on another target: not found.
      { resourceType: 'Encounter', identifier: 'sys|p-1:MRN-1' },
      { resourceType: 'RelatedPerson', identifier: 'sys|nobody' },
      { resourceType: 'RelatedPerson', identifier: 'sys|p-3:MRN-1' },
    ]);
    expect(found.map((l) => `${l.resourceType}/${l.resourceId}`).sort()).toEqual(['Encounter/enc-1', 'RelatedPerson/rp-2']);
    expect(await store.ledger.getLedgerByIdentifiers('t1', [])).toEqual([]);
  });

  test('a record shows the resources it became, not their Provenances (those are in the ledger too)', async () => {
    await store.ledger.recordLedger([ledger('sys|p-1:MRN-1'), ledger('tag|abc', { resourceType: 'Provenance', resourceId: 'prov-1' })]);
    expect((await store.ledger.getLedgerForRecord('t1', 'participant', 'p-1')).map((l) => l.resourceType)).toEqual(['RelatedPerson']);
    expect((await store.ledger.listLedger('t1')).map((l) => l.resourceType).sort()).toEqual(['Provenance', 'RelatedPerson']);
  });

  test('status: states, queue, dead letters, oldest waiting entry and holds by reason, per target', async () => {
    await store.records.putRecord(put(participant('p-1')));
    await store.records.putRecord(put(participant('p-2', 'MRN-2')));
    await store.records.putRecord(put(participant('p-3', 'MRN-3')));
    const [a, b] = await store.outbox.claimOutbox('t1', 2, 60_000);
    await store.outbox.settle([
      { entry: a, state: 'dead-letter', reason: 'x', code: 'upstream-400' },
      { entry: b, state: 'held', reason: 'patient-not-found: y', recheckAt: new Date(Date.now() + 60_000), code: 'patient-not-found', waitFor: ['client:MRN-2'] },
    ]);
    const [t1] = await store.status.targetStatus();
    expect(t1).toMatchObject({ target: 't1', queued: 2, deadLetters: 1, heldBy: { 'patient-not-found': 1 }, states: { 'dead-letter': 1, held: 1, pending: 1 } });
    expect(Date.parse(t1.oldestPendingAt!)).toBeLessThanOrEqual(Date.now());
    expect(await store.outbox.nextDueAt('t1')).toBeDefined();
    // Waking waiting records by reason leaves the others alone.
    expect(await store.outbox.wakeWaiting({ state: 'held', reasonCode: 'upstream-500' })).toBe(0);
    expect(await store.outbox.wakeWaiting({ state: 'held', reasonCode: 'patient-not-found' })).toBe(1);
    expect(await store.outbox.wake({ keys: ['client:MRN-2'], target: 't1' })).toBe(0); // woken above already
    expect(await store.outbox.wakeWaiting({})).toBe(0); // nothing else waits: parked entries are never woken
  });

  test('a note received before its session joins the client queue when the session arrives', async () => {
    const note = { id: 'n-1', sessionId: 's-1', author: { npi: '1234567893' }, kind: 'session-summary', status: 'final', contentType: 'text/plain', text: 'x' };
    await store.records.putRecord({ kind: 'note', record: note as any, clientMrn: null, clientKey: 'session:s-1', targets: ['t1'] });
    const session = { id: 's-1', client: { mrn: 'MRN-1' }, therapist: { npi: '1234567893' }, type: 'collateral', participants: [], modality: 'video', status: 'completed', start: '2026-01-01T10:00:00Z' };
    await store.records.putRecord({ kind: 'session', record: session as any, clientMrn: 'MRN-1', clientKey: 'MRN-1', targets: ['t1'] });
    // One client now: only its oldest entry (the note) is handed out, never both at once.
    const claimed = await store.outbox.claimOutbox('t1', 10, 60_000);
    expect(claimed).toEqual([expect.objectContaining({ kind: 'note', recordId: 'n-1', clientKey: 'MRN-1' })]);
  });

  test('an event during an attempt that ends held makes the hold due at once (no lost wake-up); other clients are untouched', async () => {
    await store.records.putRecord(put(participant('p-1')));
    await store.records.putRecord(put(participant('p-2', 'MRN-2')));
    const [a, b] = await store.outbox.claimOutbox('t1', 2, 60_000);
    // The consent arrives while both are in flight, after their gate read the store: only MRN-1 is concerned.
    expect(await store.outbox.wake({ keys: ['party:MRN-1/p-1'], clientKeys: ['MRN-1'] })).toBe(0);
    const later = new Date(Date.now() + 3_600_000);
    const [ra, rb] = await store.outbox.settle([
      { entry: a, state: 'held', reason: 'no-consent: x', code: 'no-consent', recheckAt: later, waitFor: ['party:MRN-1/p-1'] },
      { entry: b, state: 'held', reason: 'no-consent: y', code: 'no-consent', recheckAt: later, waitFor: ['party:MRN-2/p-2'] },
    ]);
    expect(ra).toEqual({ changed: true, superseded: false, rewoken: true });
    expect(rb).toEqual({ changed: true, superseded: false, rewoken: false });
    expect((await store.outbox.claimOutbox('t1', 10, 60_000)).map((e) => e.recordId)).toEqual(['p-1']);
  });

  test('wake-ups reach exactly the entries waiting on the key, on the target named; a settled wait is forgotten', async () => {
    await store.records.putRecords([put(participant('p-1')), put(participant('p-2', 'MRN-2')), put(participant('p-3', 'MRN-3'))]);
    const claimed = await store.outbox.claimOutbox('t1', 3, 60_000);
    const later = new Date(Date.now() + 3_600_000);
    await store.outbox.settle(
      claimed.map((entry) => ({ entry, state: 'held' as const, reason: 'x', code: 'waiting-for-dependency', recheckAt: later, waitFor: [`dep:participant/${entry.recordId === 'p-3' ? 'p-x' : 'p-0'}`] }))
    );
    expect(await store.outbox.wake({ keys: ['dep:participant/p-0'], target: 't2' })).toBe(0);
    expect(await store.outbox.wake({ keys: ['dep:participant/p-0'], target: 't1' })).toBe(2);
    expect((await store.outbox.claimOutbox('t1', 10, 60_000)).map((e) => e.recordId).sort()).toEqual(['p-1', 'p-2']);
    // Waking the same key again finds nobody: the waits were dropped with the wake.
    expect(await store.outbox.wake({ keys: ['dep:participant/p-0'] })).toBe(0);
    // A settlement wakes what waits on its keys in the same transaction.
    const [again] = await store.outbox.claimOutbox('t1', 10, 60_000, new Date(Date.now() + 7_200_000));
    expect(again.recordId).toBe('p-3');
    await store.outbox.settle([{ entry: again, state: 'synced', ledger: [], wake: ['dep:participant/p-x'] }]);
    expect(await store.outbox.wake({ keys: ['dep:participant/p-x'] })).toBe(0);
  });

  test('an outcome of a version older than the entry changes nothing: the newer version is pending and due', async () => {
    await store.records.putRecord(put(participant('p-1')));
    const [e] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.records.putRecord(put(participant('p-1', 'MRN-1', 'Changed')));
    const [r] = await store.outbox.settle([{ entry: e, state: 'failed', reason: 'x', code: 'upstream-500', nextAttemptAt: new Date(Date.now() + 3_600_000) }]);
    expect(r).toMatchObject({ superseded: true, changed: false });
    expect((await store.status.getSyncStates('participant', 'p-1'))[0]).toMatchObject({ state: 'pending' });
    expect(await store.outbox.claimOutbox('t1', 1, 60_000)).toEqual([expect.objectContaining({ recordId: 'p-1', recordVersion: 2, failures: 0 })]);
  });

  test('a client goes in arrival order; clients go in the order their waiting work arrived', async () => {
    const t0 = Date.now();
    const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 3)); // arrival times are in ms
    await store.records.putRecord(put(participant('a-1', 'A')));
    await tick();
    await store.records.putRecord(put(participant('b-1', 'B')));
    await tick();
    await store.records.putRecord(put(participant('a-2', 'A')));
    const [first] = await store.outbox.claimOutbox('t1', 1, 60_000);
    expect(first.recordId).toBe('a-1');
    // a-1 is held; a-2 goes next in its client's line; b-1 arrived before a-2 and goes first overall.
    await store.outbox.settle([{ entry: first, state: 'held', reason: 'x', code: 'no-consent', recheckAt: new Date(t0 + 3_600_000), waitFor: ['party:A/a-1'] }]);
    expect((await store.outbox.claimOutbox('t1', 2, 60_000)).map((e) => e.recordId)).toEqual(['b-1', 'a-2']);
  });

  test('status counters follow every transition, including deletions made by intake', async () => {
    await store.records.putRecords([put(participant('p-1')), put(participant('p-2', 'MRN-2'))]);
    expect(await store.status.countSyncStates()).toEqual([{ target: 't1', state: 'pending', count: 2 }]);
    // A record becoming local-only at intake drops its entry and state (records.ts): the counters follow.
    await store.records.putRecord({ ...put(participant('p-2', 'MRN-2', 'Other')), blocked: 'local only' });
    expect(await store.status.countSyncStates()).toEqual([
      { target: 'local', state: 'blocked', count: 1 },
      { target: 't1', state: 'pending', count: 1 },
    ]);
    expect(await store.status.outboxSize()).toBe(1);
    const [t1] = (await store.status.targetStatus()).filter((t) => t.target === 't1');
    expect(t1).toMatchObject({ queued: 1, deadLetters: 0, states: { pending: 1 } });
  });
});
