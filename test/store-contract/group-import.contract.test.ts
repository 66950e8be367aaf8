/**
 * The group commit (many requests' puts in one transaction, each isolated) and the import-job slice,
 * on every implementation (harness.ts).
 */
import type { Store } from '../../src/store/port.js';
import { describeStores } from './harness.js';
import { participant, put } from './fixtures.js';

const bad = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'invalid' as const }] };

describeStores('group commit and import jobs', (h, { durable }) => {
  let store: Store;
  beforeEach(() => {
    store = h().store;
  });

  test('a group commits its puts in order; a failing put is rolled back alone', async () => {
    const broken = put(participant('p-x'));
    // A record whose body cannot be stored (a circular body cannot be serialized) fails alone.
    const circular: Record<string, unknown> = { ...participant('p-x') };
    circular.self = circular;
    const outcomes = await store.records.putRecordGroup([
      { input: put(participant('p-1')) },
      { input: { ...broken, record: circular as never } },
      { input: put(participant('p-1', 'MRN-1', 'Second')) },
      { input: put(participant('p-2', 'MRN-2')) },
      // The database refuses this one after its record row was written (an outbox entry needs a client
      // key): the record row goes too, the rest of the group stays.
      { input: { ...put(participant('p-y')), clientKey: null as never } },
      { input: put(participant('p-3', 'MRN-3')) },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true, false, true]);
    expect(outcomes.map((o) => (o.ok ? o.result.record.version : undefined))).toEqual([1, undefined, 2, 1, undefined, 1]);
    expect(await store.records.getRecord('participant', 'p-x')).toBeUndefined();
    expect(await store.records.getRecord('participant', 'p-y')).toBeUndefined();
    expect(await store.records.getRecord('participant', 'p-3')).toBeDefined();
    expect((await store.records.getRecord('participant', 'p-1'))?.body).toMatchObject({ name: { family: 'Second' } });
    expect(await store.status.outboxSize('t1')).toBe(3);
  });

  /** Job 1 running with four lines read, job 2 finished: the progress and results, checked. */
  const jobProgress = async (): Promise<void> => {
    const now = new Date();
    await store.importJobs.createJob({ id: 'job-1', createdBy: 'tester', now });
    await store.records.putRecordGroup(
      [
        { input: put(participant('p-1')), job: { jobId: 'job-1', line: 1 } },
        { input: put(participant('p-1')), job: { jobId: 'job-1', line: 3 } },
      ],
      [{ jobId: 'job-1', throughLine: 4, rejected: [{ line: 4, outcome: bad }] }]
    );
    expect(await store.importJobs.getJob('job-1')).toMatchObject({ state: 'running', linesRead: 4, accepted: 1, unchanged: 1, rejected: 1 });
    expect(await store.importJobs.listJobResults('job-1', 0, 10)).toEqual([
      { line: 1, status: 'accepted', kind: 'participant', id: 'p-1', version: 1 },
      { line: 3, status: 'unchanged', kind: 'participant', id: 'p-1', version: 1 },
      { line: 4, status: 'rejected', outcome: bad },
    ]);
    expect((await store.importJobs.listJobResults('job-1', 1, 1)).map((r) => r.line)).toEqual([3]);
    await store.importJobs.createJob({ id: 'job-2', createdBy: 'tester', now });
    expect(await store.importJobs.finishJob('job-2', 'completed', undefined, now)).toMatchObject({ state: 'completed' });
    // A finished job keeps its state.
    expect(await store.importJobs.finishJob('job-2', 'cancelled', 'x', now)).toMatchObject({ state: 'completed' });
  };

  test("a job's progress commits with its lines' records; results page in line order; a finished job keeps its state", jobProgress);

  durable('a restart fails its running jobs, never its finished ones', async () => {
    await jobProgress();
    store = await h().reopen();
    expect(await store.importJobs.failInterruptedJobs(new Date())).toBe(1);
    expect(await store.importJobs.getJob('job-1')).toMatchObject({ state: 'failed', message: expect.stringContaining('after line 4') });
    expect(await store.importJobs.getJob('job-2')).toMatchObject({ state: 'completed' });
  });
});
