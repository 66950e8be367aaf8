/**
 * Several instances on one database (the PostgreSQL store): claims never hand one client to two
 * instances, a dead instance's leases are taken over once expired (and at once by its own restart), an
 * instance's settlement never releases a lease another instance took over, a commit on one instance
 * wakes the others (LISTEN/NOTIFY), and a restart fails only the restarted instance's import jobs.
 */
import type { Store } from '../../src/store/port.js';
import { describeStores, sharedOnly } from './harness.js';
import { participant, put } from './fixtures.js';

describeStores(
  'several instances on one database',
  (h) => {
    let a: Store;
    let b: Store;
    beforeEach(async () => {
      a = h().store;
      b = await h().openSibling!();
    });

    test('concurrent claims of two instances take different clients, each at most once, and all of them', async () => {
      const inputs = Array.from({ length: 40 }, (_, i) => put(participant(`p-${i}`, `MRN-${i % 20}`)));
      await a.records.putRecords(inputs);
      const claimed = (await Promise.all([a, b, a, b].map((s) => s.outbox.claimOutbox('t1', 8, 60_000)))).flat();
      const clients = claimed.map((e) => e.clientKey);
      expect(new Set(clients).size).toBe(clients.length); // one entry per client in flight, anywhere
      const rest = [...(await a.outbox.claimOutbox('t1', 50, 60_000)), ...(await b.outbox.claimOutbox('t1', 50, 60_000))];
      expect(new Set([...clients, ...rest.map((e) => e.clientKey)]).size).toBe(20);
      expect(claimed.length + rest.length).toBe(20);
    });

    test("a dead instance's lease is taken over once expired; its late settlement leaves the new lease alone", async () => {
      await a.records.putRecords([put(participant('p-1')), put(participant('p-2'))]);
      const t0 = new Date();
      const [byA] = await a.outbox.claimOutbox('t1', 1, 1_000, t0);
      expect(await b.outbox.claimOutbox('t1', 1, 60_000, new Date(t0.getTime() + 500))).toEqual([]);
      const [byB] = await b.outbox.claimOutbox('t1', 1, 60_000, new Date(t0.getTime() + 2_000));
      expect(byB).toMatchObject({ recordId: 'p-1', clientKey: 'MRN-1' });
      // A was only slow: its outcome is recorded, but B keeps the client until B settles.
      await a.outbox.settle([{ entry: byA, state: 'synced', ledger: [] }]);
      expect(await a.outbox.claimOutbox('t1', 1, 60_000, new Date(t0.getTime() + 3_000))).toEqual([]);
      await b.outbox.settle([{ entry: byB, state: 'synced', ledger: [] }]);
      expect(await a.outbox.claimOutbox('t1', 1, 60_000, new Date(t0.getTime() + 3_000))).toEqual([expect.objectContaining({ recordId: 'p-2' })]);
    });

    test("a restarted instance takes its own leases back at once, not another's", async () => {
      await a.records.putRecords([put(participant('p-1', 'A')), put(participant('p-2', 'B'))]);
      expect(await a.outbox.claimOutbox('t1', 1, 3_600_000)).toHaveLength(1);
      expect(await b.outbox.claimOutbox('t1', 1, 3_600_000)).toHaveLength(1);
      // A dies (its pool is simply dropped) and comes back with the same instance name.
      const again = await h().openSibling!(h().instanceId);
      expect((await again.outbox.claimOutbox('t1', 10, 3_600_000)).map((e) => e.recordId)).toEqual(['p-1']);
    });

    test('a commit on one instance wakes the workers of the others (LISTEN/NOTIFY)', async () => {
      let woken = 0;
      const unsubscribe = b.outbox.onWorkMaybeDue!('t1', () => woken++);
      // The listener connects on first use; wait until it hears (a wake-up on connecting counts as one).
      for (let i = 0; i < 100 && woken === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      woken = 0;
      await a.records.putRecord(put(participant('p-1')));
      for (let i = 0; i < 100 && woken === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(woken).toBeGreaterThan(0);
      unsubscribe();
      woken = 0;
      await a.records.putRecord(put(participant('p-2')));
      await new Promise((r) => setTimeout(r, 200));
      expect(woken).toBe(0);
    });

    test("an instance's restart fails its own interrupted import jobs only", async () => {
      const now = new Date();
      await a.importJobs.createJob({ id: 'job-a', createdBy: 'x', now });
      await b.importJobs.createJob({ id: 'job-b', createdBy: 'x', now });
      const restartedA = await h().openSibling!(h().instanceId);
      expect(await restartedA.importJobs.failInterruptedJobs(now)).toBe(1);
      expect(await b.importJobs.getJob('job-a')).toMatchObject({ state: 'failed' });
      expect(await b.importJobs.getJob('job-b')).toMatchObject({ state: 'running' });
    });
  },
  sharedOnly
);
