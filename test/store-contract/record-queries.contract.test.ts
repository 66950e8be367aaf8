/**
 * The console's read queries (store/record-queries.ts) on every implementation (harness.ts): the records
 * listing by sync state, paged newest change first with a keyset cursor, each filter on its own; the
 * throughput buckets; the readiness probe; the latest import jobs.
 */
import type { Store } from '../../src/store/port.js';
import { describeStores } from './harness.js';
import { participant, put } from './fixtures.js';

describeStores('record queries (console)', (h) => {
  let store: Store;
  beforeEach(() => {
    store = h().store;
  });

  test('the listing pages through every record once, newest first, and each filter narrows', async () => {
    for (let i = 0; i < 7; i++) {
      await store.records.putRecord(put(participant(`p-${i}`, `MRN-${i % 2}`)));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.status.listRecordStates({}, 3, cursor);
      seen.push(...page.rows.map((r) => r.recordId));
      expect(page.rows.every((r) => r.state === 'pending' && r.target === 't1' && r.recordVersion === 1)).toBe(true);
      const times = page.rows.map((r) => r.updatedAt);
      expect([...times].sort().reverse()).toEqual(times);
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);

    const ofClient = await store.status.listRecordStates({ clientMrn: 'MRN-1' }, 10);
    expect(ofClient.rows.map((r) => r.recordId).sort()).toEqual(['p-1', 'p-3', 'p-5']);
    expect((await store.status.listRecordStates({ state: 'synced' }, 10)).rows).toEqual([]);
    expect((await store.status.listRecordStates({ kind: 'participant', recordId: 'p-4' }, 10)).rows.map((r) => r.recordId)).toEqual(['p-4']);
    await expect(store.status.listRecordStates({}, 3, 'not-a-cursor')).rejects.toThrow(/cursor/);
  });

  test('throughput has every bucket; the probe sees the store and no pending migration; the latest jobs come first', async () => {
    const now = new Date();
    const buckets = await store.status.syncThroughput(new Date(now.getTime() - 5 * 60_000), 60_000, now);
    expect(buckets.length).toBeGreaterThanOrEqual(5);
    expect(buckets.every((b) => b.synced === 0 && b.failed === 0)).toBe(true);
    expect(await store.status.probe()).toEqual({ reachable: true, migrationsPending: [] });
    await store.importJobs.createJob({ id: 'job-a', createdBy: 'tester', now });
    await store.importJobs.createJob({ id: 'job-b', createdBy: 'tester', now });
    expect((await store.importJobs.listRecentJobs(1)).map((j) => j.id)).toEqual(['job-b']);
  });
});
