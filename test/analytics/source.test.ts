/**
 * EmbeddedStoreSource over a real fhir.sqlite (the embedded server's schema): every current resource
 * of the asked types once, in pages (also across thousands of rows sharing one timestamp), never
 * deleted ones, `_since` inclusive, the patient compartment, Group reads, and reading while another
 * connection writes (WAL).
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { EmbeddedStoreSource } from '../../src/analytics/source.js';
import { openFhirDatabase, type FhirDatabase } from '../../src/fhir-server/index.js';
import { tempDir } from '../helpers/tmp.js';

async function all(source: EmbeddedStoreSource, opts: Parameters<EmbeddedStoreSource['stream']>[0]): Promise<Resource[]> {
  const out: Resource[] = [];
  for await (const r of source.stream(opts)) {
    out.push(r);
  }
  return out;
}

describe('EmbeddedStoreSource', () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'fhir.sqlite');
  let db: FhirDatabase;
  let source: EmbeddedStoreSource;
  const insert = (type: string, id: string, lastUpdated: string, resource: object, deleted = 0): void => {
    db.prepare('INSERT INTO resources (resource_type, id, version_id, last_updated, content, deleted) VALUES (?, ?, 1, ?, ?, ?)').run(
      type,
      id,
      lastUpdated,
      JSON.stringify({ resourceType: type, id, meta: { lastUpdated }, ...resource }),
      deleted
    );
  };

  beforeAll(() => {
    db = openFhirDatabase(path);
    db.transaction(() => {
      // 1,300 Encounters sharing one timestamp (a bulk load), then 400 later ones, 5 deleted, other types.
      for (let i = 0; i < 1300; i++) {
        insert('Encounter', `same-${String(i).padStart(4, '0')}`, '2026-01-01T00:00:00.000Z', { status: 'finished', subject: { reference: `Patient/p${i % 3}` } });
      }
      for (let i = 0; i < 400; i++) {
        insert('Encounter', `later-${i}`, `2026-02-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}Z`, { status: 'planned', subject: { reference: `Patient/p${i % 3}` } });
      }
      for (let i = 0; i < 5; i++) {
        insert('Encounter', `gone-${i}`, '2026-03-01T00:00:00.000Z', {}, 1);
      }
      insert('Patient', 'p0', '2026-01-01T00:00:00.000Z', {});
      insert('Group', 'g1', '2026-01-01T00:00:00.000Z', { type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }] });
    })();
    source = new EmbeddedStoreSource(path);
  });
  afterAll(() => {
    source.close();
    db.close();
    tmp.cleanup();
  });

  test('every current resource of the type once, across pages and shared timestamps; deleted ones never', async () => {
    const got = await all(source, { types: ['Encounter'] });
    expect(got).toHaveLength(1700);
    expect(new Set(got.map((r) => r.id)).size).toBe(1700);
    expect(got.some((r) => r.id?.startsWith('gone'))).toBe(false);
    expect(got.every((r) => r.resourceType === 'Encounter')).toBe(true);
  });

  test('several types, each from its own index range', async () => {
    const got = await all(source, { types: ['Patient', 'Group'] });
    expect(got.map((r) => `${r.resourceType}/${r.id}`)).toStrictEqual(['Patient/p0', 'Group/g1']);
  });

  test('_since is inclusive and may carry an offset', async () => {
    expect(await all(source, { types: ['Encounter'], since: '2026-02-01T00:00:00Z' })).toHaveLength(400);
    expect(await all(source, { types: ['Encounter'], since: '2026-01-31T19:00:00.000-05:00' })).toHaveLength(400);
    expect(await all(source, { types: ['Encounter'], since: '2025-12-31T23:59:59Z' })).toHaveLength(1700);
    expect(await all(source, { types: ['Encounter'], since: '2026-03-02T00:00:00Z' })).toHaveLength(0);
  });

  test('patients: only their compartments', async () => {
    const got = await all(source, { types: ['Encounter', 'Patient'], patients: ['p0'] });
    expect(got.filter((r) => r.resourceType === 'Encounter')).toHaveLength(434 + 134);
    expect(got.every((r) => r.resourceType === 'Patient' || (r as { subject?: { reference?: string } }).subject?.reference === 'Patient/p0')).toBe(true);
    expect(got.some((r) => r.resourceType === 'Patient')).toBe(true);
  });

  test('read: one resource by type and id, or undefined', async () => {
    expect(await source.read('Group', 'g1')).toMatchObject({ resourceType: 'Group', id: 'g1' });
    expect(await source.read('Group', 'nope')).toBeUndefined();
    expect(await source.read('Encounter', 'gone-1')).toBeUndefined();
  });

  test('reads while another connection writes (WAL), and stops when the consumer stops', async () => {
    let seen = 0;
    for await (const r of source.stream({ types: ['Encounter'] })) {
      if (seen === 10) {
        insert('Encounter', 'written-meanwhile', '2027-01-01T00:00:00.000Z', { status: 'finished' });
      }
      if (++seen === 900) {
        expect(r.resourceType).toBe('Encounter');
        break;
      }
    }
    expect(seen).toBe(900);
    expect(await all(source, { types: ['Encounter'] })).toHaveLength(1701);
  });

  test('no store file yet: nothing held', async () => {
    const missing = new EmbeddedStoreSource(join(tmp.dir, 'none.sqlite'));
    expect(await all(missing, { types: ['Encounter'] })).toStrictEqual([]);
    expect(await missing.read('Group', 'g1')).toBeUndefined();
  });
});
