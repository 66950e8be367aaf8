/**
 * LocalAuditSource over a real SqliteStore's `audit` table (written through the store, as the sync
 * does), and routedSource: AuditEvent from the local AuditEvents, the rest from the other source.
 * More than one page, `_since` on `recorded`, `read` by id, no Patient compartment.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { LocalAuditSource, routedSource } from '../../src/analytics/audit-source.js';
import type { ResourceSource } from '../../src/analytics/source.js';
import { buildWriteAudit } from '../../src/audit/events.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/tmp.js';

const collect = async (it: AsyncIterable<Resource>): Promise<Resource[]> => {
  const out: Resource[] = [];
  for await (const r of it) out.push(r);
  return out;
};

describe('LocalAuditSource', () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'collateral.sqlite');
  let source: LocalAuditSource;
  const N = 1203; // more than two pages of 500

  beforeAll(async () => {
    const store = new SqliteStore(path);
    const entries = Array.from({ length: N }, (_, i) =>
      buildWriteAudit({
        ns: 'https://fhir.example-practice.org',
        mrnSystem: 'https://fhir.example-practice.org/sid/mrn',
        clientMrn: `MRN-${i % 7}`,
        kind: 'session',
        recordId: `s-${i}`,
        recordVersion: 1,
        target: 'embedded',
        targetBaseUrl: 'http://127.0.0.1:8080/fhir',
        written: [{ resourceType: 'Encounter', resourceId: `e-${i}`, versionId: '1', identifier: `https://fhir.example-practice.org/sid/session|s-${i}` }],
        success: i % 10 !== 0,
        now: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
      })
    );
    await store.audit.appendAudit(entries);
    await store.close();
    source = new LocalAuditSource(path);
  });
  afterAll(() => {
    source.close();
    tmp.cleanup();
  });

  test('streams every AuditEvent across pages, once each; other types and patient filters give nothing', async () => {
    const all = await collect(source.stream({ types: ['AuditEvent'] }));
    expect(all).toHaveLength(N);
    expect(new Set(all.map((r) => r.id)).size).toBe(N);
    expect(all.every((r) => r.resourceType === 'AuditEvent')).toBe(true);
    expect(await collect(source.stream({ types: ['Encounter'] }))).toHaveLength(0);
    expect(await collect(source.stream({ types: ['AuditEvent'], patients: ['p1'] }))).toHaveLength(0);
  });

  test('_since keeps events recorded at or after the instant', async () => {
    const since = new Date(Date.UTC(2026, 0, 1) + 1000 * 60_000).toISOString();
    const later = (await collect(source.stream({ types: ['AuditEvent'], since }))) as { recorded: string }[];
    expect(later).toHaveLength(N - 1000);
    expect(later.every((e) => e.recorded >= since)).toBe(true);
  });

  test('read by id; routedSource sends AuditEvent here and every other type to the other source', async () => {
    const first = (await collect(source.stream({ types: ['AuditEvent'] })))[0];
    expect(await source.read('AuditEvent', first.id as string)).toStrictEqual(first);
    expect(await source.read('Encounter', first.id as string)).toBeUndefined();
    const other: ResourceSource = {
      async *stream(opts) {
        for (const type of opts.types) yield { resourceType: type, id: 'x' } as Resource;
      },
      read: async (type, id) => ({ resourceType: type, id }) as Resource,
    };
    const routed = routedSource({ AuditEvent: source }, other);
    const mixed = await collect(routed.stream({ types: ['Encounter', 'AuditEvent', 'Consent'] }));
    expect(mixed.map((r) => r.resourceType).filter((t, i, a) => a.indexOf(t) === i)).toStrictEqual(['Encounter', 'AuditEvent', 'Consent']);
    expect(mixed).toHaveLength(N + 2);
    expect((await routed.read('AuditEvent', first.id as string))?.id).toBe(first.id);
    expect(await routed.read('Consent', 'c1')).toStrictEqual({ resourceType: 'Consent', id: 'c1' });
  });
});
