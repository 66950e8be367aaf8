/**
 * The read calls of the FhirTarget port on every implementation (harness.ts): capabilities, read,
 * vread, history, search and its pages.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { parseCapabilities } from '../../src/fhir/capabilities.js';
import { chooseWriteMode } from '../../src/sync/writers/index.js';
import { describeTargets, unique } from './harness.js';
import { byIdentifier, patient, refusal } from './fixtures.js';

const ids = (b: Bundle | undefined): string[] => (b?.entry ?? []).map((e) => e.resource?.id as string);

describeTargets('reads', ({ target, where }) => {
  test('capabilities: a server statement the sync plans transactions, conditional writes and identifier searches from', async () => {
    const cs = await target().capabilities();
    expect(cs).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', rest: [{ mode: 'server' }] });
    const caps = parseCapabilities(cs);
    expect(caps.transaction && caps.batch).toBe(true);
    expect(chooseWriteMode(caps)).toBe('transaction');
    for (const type of ['Patient', 'Practitioner', 'RelatedPerson', 'Encounter', 'Consent', 'DocumentReference', 'Provenance']) {
      const t = caps.type(type);
      expect([...(t?.interactions ?? [])].sort()).toEqual(['create', 'delete', 'history-instance', 'patch', 'read', 'search-type', 'update', 'vread']);
      expect(t).toMatchObject({ conditionalCreate: true, conditionalUpdate: true, versioned: true });
      expect(caps.canSearch(type, 'identifier') || type === 'Provenance').toBe(true);
    }
    expect(caps.canSearch('Provenance', '_tag')).toBe(true);
    expect(caps.canSearch('DocumentReference', 'patient')).toBe(true);
  });

  test('read: the current version; a missing resource is 404, parked by the sync', async () => {
    const created = (await target().create(patient(unique('r')))).resource as Resource;
    expect(await target().read('Patient', created.id as string)).toEqual(created);
    const r = await refusal(target().read('Patient', unique('missing')));
    expect(r.status).toBe(404);
    expect(r.disposition).toMatchObject({ action: 'dead-letter', code: 'upstream-404' });
  });

  test('vread: each version as it was; an unknown version is 404', async () => {
    const v1 = (await target().create(patient(unique('v'), 'One'))).resource as Resource;
    const v2 = (await target().update({ ...v1, name: [{ family: 'Two' }] } as Resource)).resource as Resource;
    expect(await target().vread('Patient', v1.id as string, v1.meta?.versionId as string)).toMatchObject({ name: [{ family: 'One' }], meta: { versionId: v1.meta?.versionId } });
    expect(await target().vread('Patient', v1.id as string, v2.meta?.versionId as string)).toMatchObject({ name: [{ family: 'Two' }] });
    expect((await refusal(target().vread('Patient', v1.id as string, '999999'))).status).toBe(404);
  });

  test('history: every version, newest first', async () => {
    const v1 = (await target().create(patient(unique('h'), 'One'))).resource as Resource;
    const v2 = (await target().update({ ...v1, name: [{ family: 'Two' }] } as Resource)).resource as Resource;
    const v3 = (await target().update({ ...v2, name: [{ family: 'Three' }] } as Resource)).resource as Resource;
    const history = await target().history?.('Patient', v1.id as string);
    expect(history).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    expect(history?.entry?.map((e) => e.resource?.meta?.versionId)).toEqual([v3, v2, v1].map((v) => v.meta?.versionId));
  });

  where('stableHistory')('history: still newest first when read again and after another write', async () => {
    const v1 = (await target().create(patient(unique('h2'), 'One'))).resource as Resource;
    const v2 = (await target().update({ ...v1, name: [{ family: 'Two' }] } as Resource)).resource as Resource;
    await target().history?.('Patient', v1.id as string);
    const v3 = (await target().update({ ...v2, name: [{ family: 'Three' }] } as Resource)).resource as Resource;
    const history = await target().history?.('Patient', v1.id as string);
    expect(history?.entry?.map((e) => e.resource?.meta?.versionId)).toEqual([v3, v2, v1].map((v) => v.meta?.versionId));
  });

  test('search: by identifier, with a total; nothing found is an empty searchset, not an error', async () => {
    const value = unique('s');
    const created = (await target().create(patient(value))).resource as Resource;
    const found = await target().search('Patient', { identifier: byIdentifier(value) });
    expect(found).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(ids(found)).toEqual([created.id]);
    const none = await target().search('Patient', { identifier: byIdentifier(unique('none')) });
    expect(none.total ?? 0).toBe(0);
    expect(none.entry ?? []).toEqual([]);
  });

  test('search pages: _count pages followed with nextPage reach every match once; the last page has no next', async () => {
    const family = unique('Page').replace(/-/g, '');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push((await target().create(patient(unique('pg'), family))).resource?.id as string);
    }
    let page: Bundle | undefined = await target().search('Patient', { family, _count: '2' });
    expect(page.total).toBe(5);
    const seen: string[] = [];
    const sizes: number[] = [];
    while (page) {
      sizes.push(page.entry?.length ?? 0);
      seen.push(...ids(page));
      page = await target().nextPage(page);
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen.sort()).toEqual(created.sort());
  });

  test('nextPage never follows a link outside the target', async () => {
    const foreign: Bundle = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'https://elsewhere.example.org/fhir/Patient?_offset=2' }] };
    await expect(target().nextPage(foreign)).rejects.toMatchObject({ outcome: { issue: [expect.objectContaining({ diagnostics: 'upstream-status:502' })] } });
  });
});
