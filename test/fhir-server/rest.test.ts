import { encounter, FHIR_JSON, patient, sendJson, startHarness, SYS, type Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

async function createPatient(mrn: string): Promise<{ id: string; versionId: string }> {
  const res = await sendJson(h, 'post', '/fhir/Patient', patient(mrn));
  expect(res.status).toBe(201);
  return { id: res.body.id, versionId: res.body.meta.versionId };
}

describe('embedded FHIR server: REST', () => {
  test('GET /metadata is an R4 CapabilityStatement listing every resource type', async () => {
    const res = await h.http().get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
    const cs = res.body;
    expect(cs).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
    expect(cs.format).toContain('json');
    const rest = cs.rest[0];
    expect(rest.mode).toBe('server');
    expect(rest.interaction.map((i: { code: string }) => i.code)).toEqual(
      expect.arrayContaining(['transaction', 'batch', 'search-system'])
    );
    const types = rest.resource.map((r: { type: string }) => r.type);
    expect(types.length).toBeGreaterThan(140);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Encounter', 'RelatedPerson', 'DocumentReference', 'Consent']));
    const enc = rest.resource.find((r: { type: string }) => r.type === 'Encounter');
    expect(enc).toMatchObject({
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalUpdate: true,
      conditionalDelete: 'single',
    });
    expect(enc.interaction.map((i: { code: string }) => i.code).sort()).toEqual(
      ['create', 'delete', 'history-instance', 'patch', 'read', 'search-type', 'update', 'vread'].sort()
    );
    expect(enc.searchParam).toEqual(expect.arrayContaining([{ name: 'identifier', type: 'token', definition: expect.any(String) }]));
    expect(cs.implementation.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
  });

  test('create, read, vread and history', async () => {
    const created = await sendJson(h, 'post', '/fhir/Patient', { ...patient('crud-1'), id: 'client-id' });
    expect(created.status).toBe(201);
    const { id } = created.body;
    expect(id).toMatch(/^[0-9a-f-]{36}$/); // the server assigns ids on create
    expect(created.body.meta.versionId).toBe('1');
    expect(created.body.meta.lastUpdated).toEqual(expect.any(String));
    expect(created.headers.etag).toBe('W/"1"');
    expect(created.headers['last-modified']).toEqual(expect.any(String));
    expect(created.headers.location).toMatch(new RegExp(`/fhir/Patient/${id}/_history/1$`));

    const read = await h.http().get(`/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.identifier[0].value).toBe('crud-1');
    expect(read.headers.etag).toBe('W/"1"');

    const v1 = await h.http().get(`/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.meta.versionId).toBe('1');
    expect((await h.http().get(`/fhir/Patient/${id}/_history/9`)).status).toBe(404);
    expect((await h.http().get('/fhir/Patient/does-not-exist')).status).toBe(404);

    const history = await h.http().get(`/fhir/Patient/${id}/_history`);
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 1 });
    expect(history.body.entry[0].fullUrl).toMatch(new RegExp(`/fhir/Patient/${id}$`));
    expect(history.body.link[0]).toMatchObject({ relation: 'self' });
  });

  test('update bumps the version; an identical update does not', async () => {
    const { id } = await createPatient('upd-1');
    const changed = { ...patient('upd-1'), id, gender: 'female' };
    const u1 = await sendJson(h, 'put', `/fhir/Patient/${id}`, changed);
    expect(u1.status).toBe(200);
    expect(u1.body.meta.versionId).toBe('2');
    expect(u1.headers.etag).toBe('W/"2"');

    // Same content again, with and without the server's meta: nothing changes.
    const same = await sendJson(h, 'put', `/fhir/Patient/${id}`, changed);
    expect(same.status).toBe(200);
    expect(same.body.meta).toEqual(u1.body.meta);
    const sameWithMeta = await h.http().put(`/fhir/Patient/${id}`).set('Content-Type', 'application/json').send(u1.body);
    expect(sameWithMeta.body.meta.versionId).toBe('2');

    const history = await h.http().get(`/fhir/Patient/${id}/_history`);
    expect(history.body.total).toBe(2);
    expect(history.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['2', '1']);
    const page = await h.http().get(`/fhir/Patient/${id}/_history?_count=1&_offset=1`);
    expect(page.body.entry).toHaveLength(1);
    expect(page.body.entry[0].resource.meta.versionId).toBe('1');
  });

  test('update of an unknown id creates it (update-as-create)', async () => {
    const res = await sendJson(h, 'put', '/fhir/Patient/upsert-1', { ...patient('uac'), id: 'upsert-1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'upsert-1', meta: { versionId: '1' } });
  });

  test('If-Match with a stale version answers 412 and changes nothing', async () => {
    const { id } = await createPatient('ifmatch-1');
    const body = { ...patient('ifmatch-1'), id, gender: 'male' as const };
    const stale = await sendJson(h, 'put', `/fhir/Patient/${id}`, body, { 'If-Match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    const fresh = await sendJson(h, 'put', `/fhir/Patient/${id}`, body, { 'If-Match': 'W/"1"' });
    expect(fresh.status).toBe(200);
    expect(fresh.body.meta.versionId).toBe('2');
  });

  test('conditional create with If-None-Exist: the second call returns the first resource', async () => {
    const ifNoneExist = { 'If-None-Exist': `identifier=${SYS}|cc-1` };
    const first = await sendJson(h, 'post', '/fhir/Patient', patient('cc-1'), ifNoneExist);
    expect(first.status).toBe(201);
    const second = await sendJson(h, 'post', '/fhir/Patient', patient('cc-1'), ifNoneExist);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta.versionId).toBe('1');
    const search = await h.http().get('/fhir/Patient').query({ identifier: `${SYS}|cc-1` });
    expect(search.body.total).toBe(1);
  });

  test('conditional update PUT Type?identifier= creates, then updates the same resource', async () => {
    const { id: pid } = await createPatient('cu-patient');
    const url = `/fhir/Encounter?identifier=${encodeURIComponent(SYS)}|enc-cu-1`;
    const created = await sendJson(h, 'put', url, encounter('enc-cu-1', `Patient/${pid}`));
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(/\/fhir\/Encounter\/[^/]+\/_history\/1$/);
    const updated = await sendJson(h, 'put', url, { ...encounter('enc-cu-1', `Patient/${pid}`), status: 'cancelled' });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
    const again = await sendJson(h, 'put', url, { ...encounter('enc-cu-1', `Patient/${pid}`), status: 'cancelled' });
    expect(again.body.meta.versionId).toBe('2');
  });

  test('search by identifier reports total, pages, and uses medplum token semantics', async () => {
    for (const mrn of ['s-1', 's-2', 's-3']) {
      await createPatient(mrn);
    }
    const one = await h.http().get('/fhir/Patient').query({ identifier: `${SYS}|s-2` });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(one.body.entry[0].fullUrl).toMatch(/\/fhir\/Patient\/[0-9a-f-]{36}$/);
    expect(one.body.link.find((l: { relation: string }) => l.relation === 'self').url).toContain('/fhir/Patient?identifier=');

    const valueOnly = await h.http().get('/fhir/Patient').query({ identifier: 'S-2' }); // tokens match case-insensitively
    expect(valueOnly.body.total).toBe(1);
    const several = await h.http().get('/fhir/Patient').query({ identifier: `${SYS}|s-1,${SYS}|s-3`, _count: 1 });
    expect(several.body.total).toBe(2);
    expect(several.body.entry).toHaveLength(1);
    expect(several.body.link.map((l: { relation: string }) => l.relation)).toContain('next');
    const none = await h.http().get('/fhir/Patient').query({ identifier: 'other|s-1' });
    expect(none.body.total).toBe(0);
    const byName = await h.http().get('/fhir/Patient').query({ family: 'Test', _count: 0 });
    expect(byName.body.total).toBeGreaterThanOrEqual(3);
    const unknown = await h.http().get('/fhir/Patient').query({ nonsense: 'x' });
    expect(unknown.status).toBe(400);
  });

  test('delete: read answers 410, history keeps every version, delete is idempotent', async () => {
    const { id } = await createPatient('del-1');
    const del = await h.http().delete(`/fhir/Patient/${id}`);
    expect(del.status).toBe(200);
    expect((await h.http().get(`/fhir/Patient/${id}`)).status).toBe(410);
    expect((await h.http().delete(`/fhir/Patient/${id}`)).status).toBe(200);
    const history = await h.http().get(`/fhir/Patient/${id}/_history`);
    expect(history.body.total).toBe(2);
    expect(history.body.entry[0].request).toMatchObject({ method: 'DELETE' });
    expect((await h.http().get(`/fhir/Patient/${id}/_history/1`)).status).toBe(200);
    const search = await h.http().get('/fhir/Patient').query({ identifier: `${SYS}|del-1` });
    expect(search.body.total).toBe(0);
  });

  test('JSON Patch', async () => {
    const { id } = await createPatient('patch-1');
    const res = await h
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'add', path: '/gender', value: 'other' }]));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ gender: 'other', meta: { versionId: '2' } });
    const bad = await h
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'add', path: '/gender', value: 42 }]));
    expect(bad.status).toBe(400);
  });

  test('an invalid resource answers 400 listing the issues', async () => {
    const res = await h
      .http()
      .post('/fhir/Encounter')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Encounter', status: 'not-a-status', bogus: true }));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue.length).toBeGreaterThanOrEqual(2);
    const expressions = res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
    expect(expressions).toEqual(expect.arrayContaining(['Encounter.class', 'Encounter.bogus']));
    expect((await h.http().get('/fhir/Encounter').query({ status: 'not-a-status' })).body.total).toBe(0);
  });

  test('malformed JSON, a missing body and an unknown type answer 400, never 500', async () => {
    const malformed = await h
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send('{"resourceType": "Patient",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.resourceType).toBe('OperationOutcome');
    expect(malformed.headers['content-type']).toMatch(/application\/fhir\+json/);
    const noBody = await h.http().post('/fhir/Patient');
    expect(noBody.status).toBe(400);
    const unknown = await sendJson(h, 'post', '/fhir/Foo', { resourceType: 'Foo' });
    expect(unknown.status).toBe(400);
    const unknownSearch = await h.http().get('/fhir/Foo');
    expect(unknownSearch.status).toBe(400);
    expect(h.errors).toHaveLength(0);
  });

  test('Prefer headers are accepted; the representation is always returned', async () => {
    const res = await h
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=minimal')
      .send(JSON.stringify(patient('prefer-1')));
    expect(res.status).toBe(201);
    expect(res.body.resourceType).toBe('Patient');
  });
});
