/**
 * Records, claims, settlements, holds, requeues and the audit, on every implementation (harness.ts).
 * (Moved from test/unit/store/sqlite-store.test.ts; the SQLite-only tests stay there.)
 */
import type { Participant, SessionRecord } from '../../src/domain/records.js';
import type { Store } from '../../src/store/port.js';
import { describeStores } from './harness.js';
import { participant, put } from './fixtures.js';

describeStores('records and outbox', (h, { durable }) => {
  let store: Store;
  beforeEach(() => {
    store = h().store;
  });

  test('a put stores version 1 with its outbox entry and pending state; an identical resend changes nothing', async () => {
    const first = await store.records.putRecord(put(participant('p-1')));
    expect(first).toMatchObject({ changed: true, created: true, record: { version: 1 } });
    expect(await store.status.outboxSize('t1')).toBe(1);
    expect((await store.status.getSyncStates('participant', 'p-1'))[0]).toMatchObject({ target: 't1', state: 'pending' });

    const again = await store.records.putRecord(put(participant('p-1')));
    expect(again).toMatchObject({ changed: false, created: false, record: { version: 1 } });
    expect(await store.status.outboxSize('t1')).toBe(1);

    const changed = await store.records.putRecord(put({ ...participant('p-1'), relationship: 'father' }));
    expect(changed).toMatchObject({ changed: true, record: { version: 2 } });
    expect(await store.status.outboxSize('t1')).toBe(1); // coalesced into the pending entry
  });

  test('key order does not make a record look changed', async () => {
    await store.records.putRecord(put({ id: 'p-2', client: { mrn: 'M' }, relationship: 'father' }));
    const again = await store.records.putRecord(put({ relationship: 'father', client: { mrn: 'M' }, id: 'p-2' } as Participant));
    expect(again.changed).toBe(false);
  });

  test('a blocked record is stored but never enqueued', async () => {
    await store.records.putRecord(put(participant('p-3'), { blocked: 'policy: never leaves' }));
    expect(await store.status.outboxSize()).toBe(0);
    expect(await store.status.getSyncStates('participant', 'p-3')).toEqual([
      expect.objectContaining({ target: 'local', state: 'blocked', reason: 'policy: never leaves' }),
    ]);
    expect(await store.records.getRecord('participant', 'p-3')).toBeDefined();
  });

  test('claims one entry per client, oldest first, and leases it', async () => {
    await store.records.putRecords([put(participant('a1', 'A')), put(participant('a2', 'A')), put(participant('b1', 'B'))]);
    const claimed = await store.outbox.claimOutbox('t1', 10, 60_000);
    expect(claimed.map((c) => c.recordId).sort()).toEqual(['a1', 'b1']);
    // Leased entries (and their clients) are not claimed again.
    expect(await store.outbox.claimOutbox('t1', 10, 60_000)).toEqual([]);
  });

  test('complete writes the ledger and marks synced; a newer version keeps the entry', async () => {
    await store.records.putRecord(put(participant('p-4')));
    const [entry] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.records.putRecord(put({ ...participant('p-4'), relationship: 'father' })); // version 2 arrives mid-send
    await store.outbox.settle([
      {
        entry,
        state: 'synced',
        ledger: [
          {
        target: 't1',
        kind: 'participant',
        recordId: 'p-4',
        resourceType: 'RelatedPerson',
        identifier: 'sys|p-4:MRN-1',
        resourceId: 'rp1',
        versionId: '1',
        recordVersion: 1,
        mapping: 'participant.v1@1.0.0',
        contentHash: 'h',
            syncedAt: new Date().toISOString(),
          },
        ],
      },
    ]);
    expect(await store.status.outboxSize('t1')).toBe(1);
    expect((await store.status.getSyncStates('participant', 'p-4'))[0].state).toBe('pending');
    const [again] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry: { ...again, recordVersion: 2 }, state: 'synced', ledger: [] }]);
    expect(await store.status.outboxSize('t1')).toBe(0);
    expect((await store.status.getSyncStates('participant', 'p-4'))[0].state).toBe('synced');
    expect(await store.ledger.getLedgerByIdentifier('t1', 'RelatedPerson', 'sys|p-4:MRN-1')).toMatchObject({ resourceId: 'rp1' });
  });

  test('a hold keeps the entry with its reason until due; an event on what it waits for makes it due now', async () => {
    await store.records.putRecord(put(participant('p-5')));
    const [entry] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([
      { entry, state: 'held', reason: 'patient-not-found: x', code: 'patient-not-found', recheckAt: new Date(Date.now() + 3_600_000), waitFor: ['client:MRN-1'] },
    ]);
    expect(await store.outbox.claimOutbox('t1', 1, 60_000)).toEqual([]);
    expect((await store.status.getSyncStates('participant', 'p-5'))[0]).toMatchObject({ state: 'held', attempts: 1, reason: 'patient-not-found: x' });
    expect(await store.outbox.wake({ keys: ['client:MRN-2'] })).toBe(0);
    expect(await store.outbox.wake({ keys: ['client:MRN-1'], target: 't2' })).toBe(0);
    expect(await store.outbox.wake({ keys: ['client:MRN-1'], target: 't1' })).toBe(1);
    expect(await store.outbox.claimOutbox('t1', 1, 60_000)).toHaveLength(1);
  });

  test('blockOutbox removes the entry and records why; audit entries are kept and filtered', async () => {
    await store.records.putRecord(put(participant('p-6')));
    const [entry] = await store.outbox.claimOutbox('t1', 1, 60_000);
    const event = { resourceType: 'AuditEvent', id: 'a1', recorded: '2026-01-01T00:00:00Z' } as any;
    await store.outbox.settle([
      {
        entry,
        state: 'blocked',
        reason: 'deny: consent revoked',
        audit: [{ id: 'a1', recorded: '2026-01-01T00:00:00Z', clientMrn: 'MRN-1', kind: 'participant', recordId: 'p-6', category: 'disclosure-denied', outcome: 'failure', event }],
      },
    ]);
    expect(await store.status.outboxSize()).toBe(0);
    expect((await store.status.getSyncStates('participant', 'p-6'))[0]).toMatchObject({ state: 'blocked', reason: 'deny: consent revoked' });
    await store.audit.appendAudit([
      { id: 'a2', recorded: '2026-01-02T00:00:00Z', clientMrn: 'MRN-2', category: 'disclosure', outcome: 'success', event: { ...event, id: 'a2' } },
    ]);
    expect((await store.audit.listAudit({ clientMrn: 'MRN-1' })).map((a) => a.id)).toEqual(['a1']);
    expect((await store.audit.listAudit({ category: 'disclosure' })).map((a) => a.event.id)).toEqual(['a2']);
  });

  test('requeue queues stored records again but never a blocked one', async () => {
    await store.records.putRecord(put(participant('p-7')));
    await store.records.putRecord(put(participant('p-8'), { blocked: 'local only' }));
    const [entry] = await store.outbox.claimOutbox('t1', 1, 60_000);
    await store.outbox.settle([{ entry, state: 'synced', ledger: [] }]);
    expect(await store.status.outboxSize('t1')).toBe(0);
    expect(await store.outbox.requeue([{ kind: 'participant', id: 'p-7' }, { kind: 'participant', id: 'p-8' }, { kind: 'participant', id: 'nope' }], 't1')).toBe(1);
    expect(await store.status.outboxSize('t1')).toBe(1);
    expect((await store.status.getSyncStates('participant', 'p-7'))[0].state).toBe('pending');
  });

  durable('leases left by a run that died are released when the same instance opens the store again', async () => {
    await store.records.putRecord(put(participant('p-9')));
    expect(await store.outbox.claimOutbox('t1', 1, 3_600_000)).toHaveLength(1);
    store = await h().reopen();
    expect(await store.outbox.claimOutbox('t1', 1, 3_600_000)).toHaveLength(1);
  });

  durable('everything committed survives reopening the store', async () => {
    const session: SessionRecord = {
      id: 's-1',
      client: { mrn: 'MRN-1' },
      therapist: { npi: '1234567893' },
      type: 'collateral',
      participants: [{ participantId: 'p-1' }],
      modality: 'video',
      status: 'completed',
      start: '2026-02-01T16:00:00-05:00',
    };
    await store.records.putRecord({ kind: 'session', record: session, clientMrn: 'MRN-1', clientKey: 'MRN-1', targets: ['t1'] });
    store = await h().reopen();
    expect((await store.records.getRecord('session', 's-1'))?.body).toEqual(session);
    expect(await store.status.outboxSize('t1')).toBe(1);
  });

});
