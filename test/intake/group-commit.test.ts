/**
 * Group commit at intake, against a real SQLite store: concurrent submissions share one transaction,
 * a put that fails is rolled back alone (the others of its group commit), versions follow the order
 * of arrival for one id, the sync is woken once per commit, and over HTTP concurrent PUTs share
 * commits and are each answered with their own version.
 */
import { join } from 'node:path';
import type { AnyRecord } from '../../src/domain/records.js';
import { Intake } from '../../src/intake/accept.js';
import type { GroupPut, GroupPutOutcome, ImportJobProgress } from '../../src/store/port.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { records } from '../helpers/fixtures.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const participant = (id: string, extra: object = {}): AnyRecord => ({ ...records.participant, id, ...extra }) as unknown as AnyRecord;

/**
 * Counts the store's group commits (the real method runs; only the calls are counted). With `slowMs`,
 * each commit first waits that long, as a slow disk's fsync would: requests arriving meanwhile queue for
 * the next group, whatever the machine's load (a fast commit on a loaded machine may see one request at a time).
 */
function countGroups(store: SqliteStore, slowMs = 0): { calls: number; sizes: number[] } {
  const seen = { calls: 0, sizes: [] as number[] };
  const real = store.records.putRecordGroup.bind(store.records);
  store.records.putRecordGroup = async (puts: GroupPut[], jobs?: ImportJobProgress[], afterWrite?: (o: GroupPutOutcome[]) => void): Promise<GroupPutOutcome[]> => {
    seen.calls++;
    seen.sizes.push(puts.length);
    if (slowMs > 0) {
      await new Promise((r) => setTimeout(r, slowMs));
    }
    return real(puts, jobs, afterWrite);
  };
  return seen;
}

describe('group commit (store level)', () => {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'store.sqlite'));
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  test('concurrent submissions share one transaction and each gets its own result', async () => {
    const groups = countGroups(store);
    const woken: string[][] = [];
    const intake = new Intake({ store, targets: ['t1'], onAccepted: (changed) => woken.push(changed.map((r) => r.record.clientMrn ?? '')) });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => intake.accept([{ kind: 'participant', record: participant(`p-g${i}`, { client: { mrn: `MRN-G${i % 3}` } }) }]))
    );
    expect(results.map(([r]) => [r.record.id, r.created, r.record.version])).toEqual(Array.from({ length: 20 }, (_, i) => [`p-g${i}`, true, 1]));
    expect(groups.calls).toBe(1);
    expect(groups.sizes).toEqual([20]);
    // The sync is told once for the commit, with every record written.
    expect(woken).toHaveLength(1);
    expect([...new Set(woken[0])].sort()).toEqual(['MRN-G0', 'MRN-G1', 'MRN-G2']);
    expect(woken[0]).toHaveLength(20);
    for (let i = 0; i < 20; i++) {
      expect((await store.records.getRecord('participant', `p-g${i}`))?.version).toBe(1);
      expect((await store.status.getSyncStates('participant', `p-g${i}`)).map((s) => s.state)).toEqual(['pending']);
    }
  });

  test('a put that fails is rolled back alone: the others of its group commit', async () => {
    const groups = countGroups(store);
    const intake = new Intake({ store, targets: ['t1'] });
    const committer = intake.committer;
    const good = (id: string): GroupPut => ({ input: { kind: 'participant', record: participant(id), clientMrn: 'MRN-1001', clientKey: 'MRN-1001', targets: ['t1'] } });
    // The record row is written first, then its outbox entry fails (a target that cannot be NULL):
    // the savepoint must take the record row back too.
    const bad: GroupPut = { input: { kind: 'participant', record: participant('p-bad'), clientMrn: 'MRN-1001', clientKey: 'MRN-1001', targets: [null as unknown as string] } };
    const [a, b, c] = await Promise.all([committer.submit([good('p-ok1')]), committer.submit([bad]), committer.submit([good('p-ok2')])]);
    expect(groups.calls).toBe(1);
    expect(a[0].ok && c[0].ok).toBe(true);
    expect(b[0].ok).toBe(false);
    expect(await store.records.getRecord('participant', 'p-bad')).toBeUndefined();
    expect(await store.status.getSyncStates('participant', 'p-bad')).toEqual([]);
    expect((await store.records.getRecord('participant', 'p-ok1'))?.version).toBe(1);
    expect((await store.records.getRecord('participant', 'p-ok2'))?.version).toBe(1);
    // Through accept(), the failing record's error reaches its own caller only.
    await expect(intake.accept([{ kind: 'participant', record: { ...participant('p-big'), extra: 10n } as unknown as AnyRecord }])).rejects.toThrow();
  });

  test('versions of one record follow the order of arrival within and across groups', async () => {
    const intake = new Intake({ store, targets: ['t1'], groupCommit: { maxItems: 4 } });
    const groups = countGroups(store);
    const relationships = ['mother', 'father', 'grandparent', 'sibling', 'teacher', 'aunt', 'uncle', 'friend', 'coach', 'mother'];
    const answers = await Promise.all(relationships.map((relationship) => intake.accept([{ kind: 'participant', record: participant('p-same', { relationship }) }])));
    expect(answers.map(([r]) => r.record.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(groups.calls).toBeGreaterThanOrEqual(3); // bounded groups: 4 puts at most
    expect(Math.max(...groups.sizes)).toBeLessThanOrEqual(4);
    const stored = await store.records.getRecord('participant', 'p-same');
    expect(stored?.version).toBe(10);
    expect((stored?.body as { relationship?: string }).relationship).toBe('mother');
  });

  test('a note in the same group as its session belongs to the session client', async () => {
    const intake = new Intake({ store, targets: ['t1'] });
    const session = { ...records.session, id: 's-grp', client: { mrn: 'MRN-S1' } } as unknown as AnyRecord;
    const note = { ...records.note, id: 'n-grp', sessionId: 's-grp' } as unknown as AnyRecord;
    await Promise.all([intake.accept([{ kind: 'session', record: session }]), intake.accept([{ kind: 'note', record: note }])]);
    expect((await store.records.getRecord('note', 'n-grp'))?.clientMrn).toBe('MRN-S1');
  });
});

describe('group commit over HTTP (the real service)', () => {
  const tmp = tempDir();
  let svc: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('concurrent PUTs share commits; concurrent PUTs of one id get distinct versions, the last stored wins', async () => {
    const groups = countGroups(svc.store as SqliteStore, 250);
    const puts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => svc.api('PUT', `/api/v1/participants/p-h${i}`, { ...records.participant, id: `p-h${i}` }))
    );
    expect(puts.map((p) => p.status)).toEqual(Array(30).fill(201));
    expect(groups.calls).toBeLessThan(30);

    const relationships = ['mother', 'father', 'grandparent', 'sibling', 'teacher', 'guardian', 'neighbor', 'friend'];
    const same = await Promise.all(relationships.map((relationship) => svc.api('PUT', '/api/v1/participants/p-hsame', { ...records.participant, id: 'p-hsame', relationship })));
    const versions = same.map((r) => r.body.version).sort((a, b) => a - b);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const last = same.find((r) => r.body.version === 8);
    const got = await svc.api('GET', '/api/v1/participants/p-hsame');
    expect(got.body.version).toBe(8);
    expect(got.body.record.relationship).toBe(relationships[same.indexOf(last!)]);
  });
});
