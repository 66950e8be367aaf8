/**
 * The write calls of the FhirTarget port on every implementation (harness.ts): create with and without
 * If-None-Exist, update guarded by If-Match, conditional update, JSON Patch, and what a refusal looks
 * like to the sync (status, error shape, retry-policy disposition).
 */
import type { Resource } from '@medplum/fhirtypes';
import { describeTargets, unique } from './harness.js';
import { byIdentifier, patient, refusal } from './fixtures.js';

describeTargets('writes', ({ target, where }) => {
  test('create: 201 with the stored resource, a versioned Location and an ETag; a second plain create is a second resource', async () => {
    const value = unique('c');
    const first = await target().create(patient(value));
    expect(first.status).toBe(201);
    const { id, meta } = first.resource as Resource;
    expect(id).toBeTruthy();
    expect(first.location).toBe(`${target().baseUrl.replace(/\/+$/, '')}/Patient/${id}/_history/${meta?.versionId}`);
    expect(first.etag).toBe(`W/"${meta?.versionId}"`);
    const second = await target().create(patient(value));
    expect(second.status).toBe(201);
    expect(second.resource?.id).not.toBe(id);
    expect((await target().search('Patient', { identifier: byIdentifier(value) })).total).toBe(2);
  });

  test('create with ifNoneExist: 201 the first time, then 200 with the existing resource, unchanged; one resource', async () => {
    const value = unique('cc');
    const first = await target().create(patient(value, 'First'), { ifNoneExist: `identifier=${byIdentifier(value)}` });
    expect(first.status).toBe(201);
    const again = await target().create(patient(value, 'Second'), { ifNoneExist: `identifier=${byIdentifier(value)}` });
    expect(again.status).toBe(200);
    expect(again.resource).toMatchObject({ id: first.resource?.id, meta: { versionId: first.resource?.meta?.versionId }, name: [{ family: 'First' }] });
    expect((await target().search('Patient', { identifier: byIdentifier(value) })).total).toBe(1);
  });

  test('create with ifNoneExist matching two resources: 412, retried by the sync', async () => {
    const value = unique('c2');
    await target().create(patient(value));
    await target().create(patient(value));
    const r = await refusal(target().create(patient(value), { ifNoneExist: `identifier=${byIdentifier(value)}` }));
    expect(r.status).toBe(412);
    expect(r.disposition).toMatchObject({ action: 'retry', code: 'upstream-412' });
  });

  test('update with the current If-Match: 200, a new version; with a stale one: 412, which the sync retries', async () => {
    const created = await target().create(patient(unique('u')));
    const v1 = created.resource as Resource;
    const updated = await target().update({ ...v1, name: [{ family: 'Two' }] } as Resource, { ifMatch: `W/"${v1.meta?.versionId}"` });
    expect(updated.status).toBe(200);
    expect(updated.resource?.meta?.versionId).not.toBe(v1.meta?.versionId);
    expect(updated.etag).toBe(`W/"${updated.resource?.meta?.versionId}"`);
    const stale = await refusal(target().update({ ...v1, name: [{ family: 'Three' }] } as Resource, { ifMatch: `W/"${v1.meta?.versionId}"` }));
    expect(stale.status).toBe(412);
    expect(stale.disposition).toMatchObject({ action: 'retry', code: 'upstream-412', countFailure: true });
    expect(await target().read('Patient', v1.id as string)).toMatchObject({ name: [{ family: 'Two' }] });
  });

  where('ifMatchOnMissingIs412')('update with If-Match of a resource that does not exist: 412', async () => {
    const r = await refusal(target().update({ ...patient(unique('um')), id: unique('missing') } as Resource, { ifMatch: 'W/"1"' }));
    expect(r.status).toBe(412);
  });

  test('update of an unknown id without If-Match creates it (update as create)', async () => {
    const id = unique('uc');
    const r = await target().update({ ...patient(unique('uc')), id } as Resource);
    expect(r.status).toBeLessThan(300);
    expect((await target().read('Patient', id)).id).toBe(id);
  });

  where('unchangedUpdateKeepsVersion')('an update with unchanged content keeps the current version', async () => {
    const v1 = (await target().create(patient(unique('same')))).resource as Resource;
    const again = await target().update(v1);
    expect(again.resource?.meta?.versionId).toBe(v1.meta?.versionId);
  });

  test('conditionalUpdate: no match creates (201), one match updates it in place (200), two matches are refused (412)', async () => {
    const value = unique('cu');
    const created = await target().conditionalUpdate(patient(value, 'One'), { identifier: byIdentifier(value) });
    expect(created.status).toBe(201);
    const updated = await target().conditionalUpdate(patient(value, 'Two'), { identifier: byIdentifier(value) });
    expect(updated.status).toBe(200);
    expect(updated.resource).toMatchObject({ id: created.resource?.id, name: [{ family: 'Two' }] });
    expect(updated.resource?.meta?.versionId).not.toBe(created.resource?.meta?.versionId);
    await target().create(patient(value));
    const r = await refusal(target().conditionalUpdate(patient(value, 'Three'), { identifier: byIdentifier(value) }));
    expect(r.status).toBe(412);
  });

  test('patch: a JSON Patch makes a new version; a failed test operation is refused and changes nothing', async () => {
    const v1 = (await target().create(patient(unique('p'), 'Before'))).resource as Resource;
    const patched = await target().patch('Patient', v1.id as string, [{ op: 'replace', path: '/name/0/family', value: 'After' }], { ifMatch: `W/"${v1.meta?.versionId}"` });
    expect(patched.status).toBe(200);
    expect(patched.resource).toMatchObject({ id: v1.id, name: [{ family: 'After' }] });
    expect(patched.resource?.meta?.versionId).not.toBe(v1.meta?.versionId);
    const r = await refusal(target().patch('Patient', v1.id as string, [{ op: 'test', path: '/name/0/family', value: 'Nobody' }, { op: 'replace', path: '/name/0/family', value: 'X' }]));
    expect(r.status).toBe(400);
    expect(r.disposition).toMatchObject({ action: 'dead-letter', code: 'upstream-400' });
    expect(await target().read('Patient', v1.id as string)).toMatchObject({ name: [{ family: 'After' }] });
  });

  where('patchHonoursIfMatch')('patch with a stale If-Match is refused with 412', async () => {
    const v1 = (await target().create(patient(unique('pm')))).resource as Resource;
    await target().update({ ...v1, name: [{ family: 'Theirs' }] } as Resource);
    const r = await refusal(target().patch('Patient', v1.id as string, [{ op: 'replace', path: '/name/0/family', value: 'Ours' }], { ifMatch: `W/"${v1.meta?.versionId}"` }));
    expect(r.status).toBe(412);
  });

  test('patch of a resource that does not exist: 404, parked by the sync', async () => {
    const r = await refusal(target().patch('Patient', unique('none'), [{ op: 'replace', path: '/active', value: true }]));
    expect(r.status).toBe(404);
    expect(r.disposition).toMatchObject({ action: 'dead-letter', code: 'upstream-404' });
  });

  where('validates')('a resource that breaks the R4 definitions is refused with 400', async () => {
    const r = await refusal(target().create({ ...patient(unique('bad')), birthDate: 'not a date' } as Resource));
    expect(r.status).toBe(400);
  });
});
