/** The access-audit slice (issue #10) on every implementation (harness.ts): pages by time, user and client, cursors, purge. */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AccessAuditEntry, Store } from '../../src/store/port.js';
import { describeStores } from './harness.js';

const entry = (i: number, who: string, mrns: string[]): AccessAuditEntry => ({
  id: `ae-${i}`,
  recorded: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  who,
  action: 'read',
  route: 'GET /api/v1/{collection}/{id}',
  status: 200,
  clientMrns: mrns,
  event: {
    resourceType: 'AuditEvent',
    id: `ae-${i}`,
    entity: mrns.map((m) => ({ what: { identifier: { value: m } }, role: { code: '1' } })),
  } as unknown as AuditEvent,
});

describeStores('access audit', (h) => {
  let store: Store;
  beforeEach(() => {
    store = h().store;
  });

  test('pages by time, by user and by client follow their cursors; a foreign cursor gives nothing; purge takes the oldest', async () => {
    await store.accessAudit.appendAccess([entry(1, 'alice', ['M-1']), entry(2, 'bob', ['M-1', 'M-2']), entry(3, 'alice', []), entry(4, 'alice', ['M-2'])]);
    const first = await store.accessAudit.listAccess({ limit: 3 });
    expect(first.entries.map((e) => e.id)).toEqual(['ae-1', 'ae-2', 'ae-3']);
    const second = await store.accessAudit.listAccess({ limit: 3, cursor: first.nextCursor });
    expect(second).toEqual({ entries: [expect.objectContaining({ id: 'ae-4', who: 'alice', clientMrns: ['M-2'] })] });
    expect((await store.accessAudit.listAccess({ limit: 10, who: 'alice' })).entries.map((e) => e.id)).toEqual(['ae-1', 'ae-3', 'ae-4']);
    expect((await store.accessAudit.listAccess({ limit: 10, clientMrn: 'M-2' })).entries.map((e) => e.id)).toEqual(['ae-2', 'ae-4']);
    expect((await store.accessAudit.listAccess({ limit: 10, clientMrn: 'M-1', who: 'bob' })).entries.map((e) => e.id)).toEqual(['ae-2']);
    expect((await store.accessAudit.listAccess({ limit: 10, since: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)), until: new Date(Date.UTC(2026, 0, 1, 0, 0, 4)) })).entries.map((e) => e.id)).toEqual(['ae-2', 'ae-3']);
    expect(await store.accessAudit.listAccess({ limit: 10, cursor: 'not-a-cursor' })).toEqual({ entries: [] });
    expect(await store.accessAudit.purgeAccessBefore(new Date(Date.UTC(2026, 0, 1, 0, 0, 3)), 10)).toBe(2);
    expect((await store.accessAudit.listAccess({ limit: 10 })).entries.map((e) => e.id)).toEqual(['ae-3', 'ae-4']);
    expect((await store.accessAudit.listAccess({ limit: 10, clientMrn: 'M-1' })).entries).toEqual([]);
  });
});
