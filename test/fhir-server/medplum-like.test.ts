/**
 * The medplum-like target profile over HTTP (the standalone embedded server): what a Medplum 4.5.2 server
 * showed in issue #9. A declared transaction that is not atomic (per-entry errors in a 200, orphans
 * through pre-assigned ids), the 8-entry limit of atomic transactions, the request quota (429 per entry
 * and at the top level), injected per-entry failures and seeded 409 conflicts, and the statement that
 * says `transaction` either way. Scopes and OAuth: medplum-like-auth.test.ts.
 */
import type { BundleEntry, CapabilityStatement, Provenance } from '@medplum/fhirtypes';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { SYS, bundle, createEntry, provenance, sample, send, statuses, urn } from './medplum-helpers.js';

describe('medplum-like: the CapabilityStatement says what medplum says', () => {
  const tmp = tempDir();
  let plain: FhirTarget;
  let atomic: FhirTarget;
  beforeAll(async () => {
    plain = await startFhirTarget('medplum-like', `${tmp.dir}/plain`);
    atomic = await startFhirTarget('medplum-like', `${tmp.dir}/atomic`, { medplum: { atomicTransactions: true } });
  });
  afterAll(async () => {
    await plain.close();
    await atomic.close();
    tmp.cleanup();
  });

  test('transaction and batch at system level, every type writable with conditional create/update, no update-as-create', async () => {
    const cs: CapabilityStatement = (await send('GET', `${plain.url}/metadata`)).body;
    const rest = cs.rest?.[0];
    expect((rest?.interaction ?? []).map((i) => i.code)).toEqual(['transaction', 'batch']);
    const types = rest?.resource ?? [];
    expect(types.length).toBeGreaterThan(100);
    for (const r of types) {
      expect(r).toMatchObject({ conditionalCreate: true, conditionalUpdate: true, conditionalDelete: 'single', updateCreate: false, versioning: 'versioned' });
      expect((r.interaction ?? []).map((i) => i.code)).toEqual(
        expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'])
      );
    }
    expect(types.find((r) => r.type === 'DocumentReference')?.searchParam?.map((p) => p.name)).toEqual(expect.arrayContaining(['identifier', 'patient']));
    expect(rest?.security).toBeUndefined(); // no OAuth clients, no token endpoint to announce
  });

  test('the statement is the same whether transactions are atomic or not (a client cannot tell)', async () => {
    const a: CapabilityStatement = (await send('GET', `${plain.url}/metadata`)).body;
    const b: CapabilityStatement = (await send('GET', `${atomic.url}/metadata`)).body;
    const strip = (cs: CapabilityStatement): unknown => ({ ...cs, implementation: undefined });
    expect(strip(b)).toEqual(strip(a));
  });
});

describe('medplum-like: a declared transaction is not atomic (project feature transaction-bundles off)', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let patientRef: string;
  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', tmp.dir);
    const [patient] = await target.seed([sample('Patient', 'MRN-1')]);
    patientRef = `Patient/${patient.id}`;
  });
  afterEach(() => target.medplum?.clearFailures());
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('an Encounter entry fails, its Provenance is written anyway: the Provenance exists, its target never did', async () => {
    target.medplum?.fail({ resourceType: 'Encounter', interaction: 'create', status: 403 });
    const encUrn = urn();
    const r = await send(
      'POST',
      target.url,
      bundle('transaction', [createEntry(sample('Encounter', 'enc-orphan', patientRef), encUrn), createEntry(provenance(encUrn))])
    );
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('transaction-response');
    expect(statuses(r)).toEqual(['403', '201']);
    expect(r.body.entry[0].response.outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    expect(r.body.entry[0].resource).toBeUndefined();

    // The urn:uuid was rewritten to the id assigned to the Encounter before any entry ran.
    const prov = r.body.entry[1].resource as Provenance;
    const targetRef = prov.target[0].reference as string;
    expect(targetRef).toMatch(/^Encounter\/[0-9a-f-]{36}$/);
    expect(await target.search('Provenance', { _id: prov.id as string })).toHaveLength(1);
    expect((await send('GET', `${target.adminUrl}/${targetRef}`)).status).toBe(404);
    expect(await target.countByIdentifier('Encounter', SYS, 'enc-orphan')).toBe(0);
  });

  test('every entry answers its own status inside HTTP 200; the good entries are committed', async () => {
    target.medplum?.fail({ resourceType: 'RelatedPerson', status: 409 });
    // Encounter.status is required (1..1): medplum's validator refuses the entry with 400.
    const invalid = { resourceType: 'Encounter', class: { code: 'AMB' }, subject: { reference: patientRef } };
    const r = await send(
      'POST',
      target.url,
      bundle('transaction', [
        createEntry(sample('Encounter', 'enc-ok', patientRef)),
        createEntry(sample('RelatedPerson', 'rp-conflict', patientRef)),
        createEntry(invalid as never),
        createEntry(sample('DocumentReference', 'doc-ok', patientRef)),
      ])
    );
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['201', '409', '400', '201']);
    expect(r.body.entry[1].response.outcome.issue[0].code).toBe('conflict');
    expect(r.body.entry[2].response.outcome.issue[0].severity).toBe('error');
    expect(await target.countByIdentifier('Encounter', SYS, 'enc-ok')).toBe(1);
    expect(await target.countByIdentifier('RelatedPerson', SYS, 'rp-conflict')).toBe(0);
    expect(await target.countByIdentifier('DocumentReference', SYS, 'doc-ok')).toBe(1);
  });

  test("entries are shaped as medplum's: status code only, location Type/id, an outcome on every entry, no etag", async () => {
    const r = await send('POST', target.url, bundle('batch', [createEntry(sample('Practitioner', 'pr-shape'))]));
    const entry = r.body.entry[0] as BundleEntry;
    expect(entry.response).toMatchObject({ status: '201', location: `Practitioner/${entry.resource?.id}`, outcome: { id: 'created' } });
    expect(entry.response?.etag).toBeUndefined();
    expect(entry.resource?.meta?.versionId).toBeDefined();
  });

  test('more than 8 entries with conditional ones are accepted (the limit belongs to atomic transactions)', async () => {
    const entries = Array.from({ length: 10 }, (_, i) =>
      createEntry(sample('Practitioner', `pr-cond-${i}`), urn(), `identifier=${SYS}|pr-cond-${i}`)
    );
    const first = await send('POST', target.url, bundle('transaction', entries));
    expect(statuses(first)).toEqual(Array(10).fill('201'));
    const again = await send('POST', target.url, bundle('transaction', entries));
    expect(statuses(again)).toEqual(Array(10).fill('200'));
    expect(await target.countByIdentifier('Practitioner', SYS, 'pr-cond-9')).toBe(1);
  });

  test('a failure rule is spent after `times` matching operations and selects by type and interaction', async () => {
    target.medplum?.fail({ resourceType: 'Organization', interaction: 'create', status: 422, times: 2 });
    const entries = [0, 1, 2].map((i) => createEntry(sample('Organization', `org-${i}`)));
    const r = await send('POST', target.url, bundle('batch', [...entries, { request: { method: 'GET', url: `Patient?identifier=${SYS}|MRN-1` } }]));
    expect(statuses(r)).toEqual(['422', '422', '201', '200']);
    const top = await send('POST', `${target.url}/Organization`, sample('Organization', 'org-top'));
    expect(top.status).toBe(201);
    target.medplum?.fail({ interaction: 'read', status: 404 });
    expect((await send('GET', `${target.url}/Organization/${top.body.id}`)).status).toBe(404);
    expect((await send('GET', `${target.url}/Organization/${top.body.id}`)).status).toBe(200);
  });

  test('PUT of an unknown id is 404 (no update-as-create), as for a medplum client that is not a project admin', async () => {
    const id = '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
    const r = await send('PUT', `${target.url}/Organization/${id}`, { ...sample('Organization', 'org-put'), id });
    expect(r.status).toBe(404);
    expect(await target.countByIdentifier('Organization', SYS, 'org-put')).toBe(0);
  });
});

describe('medplum-like: atomic transactions (transaction-bundles on)', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let patientRef: string;
  const conditional = (i: number, prefix: string): BundleEntry =>
    createEntry(sample('Practitioner', `${prefix}-${i}`), urn(), `identifier=${SYS}|${prefix}-${i}`);
  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', tmp.dir, { medplum: { atomicTransactions: true } });
    const [patient] = await target.seed([sample('Patient', 'MRN-1')]);
    patientRef = `Patient/${patient.id}`;
  });
  afterEach(() => target.medplum?.clearFailures());
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('more than 8 entries with a conditional one: 400 "Transaction requires strict isolation but has too many entries", nothing written', async () => {
    const entries = [conditional(0, 'nine'), ...Array.from({ length: 8 }, (_, i) => createEntry(sample('Practitioner', `nine-plain-${i}`)))];
    const r = await send('POST', target.url, bundle('transaction', entries));
    expect(r.status).toBe(400);
    expect(r.body.issue[0].details.text).toBe('Transaction requires strict isolation but has too many entries');
    expect(await target.countByIdentifier('Practitioner', SYS, 'nine-0')).toBe(0);
    expect(await target.countByIdentifier('Practitioner', SYS, 'nine-plain-0')).toBe(0);
  });

  test('8 conditional entries pass; 9 plain entries pass (the limit needs a conditional entry)', async () => {
    const eight = await send('POST', target.url, bundle('transaction', Array.from({ length: 8 }, (_, i) => conditional(i, 'eight'))));
    expect(eight.status).toBe(200);
    expect(statuses(eight)).toEqual(Array(8).fill('201'));
    const plain = await send('POST', target.url, bundle('transaction', Array.from({ length: 9 }, (_, i) => createEntry(sample('Practitioner', `plain-${i}`)))));
    expect(plain.status).toBe(200);
    expect(await target.countByIdentifier('Practitioner', SYS, 'plain-8')).toBe(1);
  });

  test('a failing entry fails the whole transaction with its status: no Provenance without its Encounter', async () => {
    target.medplum?.fail({ resourceType: 'Encounter', interaction: 'create', status: 403 });
    const encUrn = urn();
    const r = await send(
      'POST',
      target.url,
      bundle('transaction', [createEntry(sample('Encounter', 'enc-atomic', patientRef), encUrn), createEntry(provenance(encUrn))])
    );
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    expect(await target.search('Provenance')).toHaveLength(0);
  });

  test('the feature can be switched at run time: off, the same Bundle leaves an orphan', async () => {
    target.medplum?.setAtomicTransactions(false);
    try {
      target.medplum?.fail({ resourceType: 'Encounter', interaction: 'create', status: 403 });
      const encUrn = urn();
      const r = await send('POST', target.url, bundle('transaction', [createEntry(sample('Encounter', 'enc-off', patientRef), encUrn), createEntry(provenance(encUrn))]));
      expect(statuses(r)).toEqual(['403', '201']);
      const big = await send('POST', target.url, bundle('transaction', Array.from({ length: 9 }, (_, i) => conditional(i, 'off'))));
      expect(big.status).toBe(200);
    } finally {
      target.medplum?.setAtomicTransactions(true);
    }
  });
});

describe('medplum-like: the request quota', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', tmp.dir, { medplum: { quota: { points: 250 } } });
  });
  beforeEach(() => target.medplum?.refillQuota());
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('a write costs 100 points: the third create is 429 with Retry-After and RateLimit, and writes nothing', async () => {
    const answers = [];
    for (const key of ['q-1', 'q-2', 'q-3']) {
      answers.push(await send('POST', `${target.url}/Practitioner`, sample('Practitioner', key)));
    }
    expect(answers.map((a) => a.status)).toEqual([201, 201, 429]);
    expect(answers[1].headers.get('ratelimit')).toMatch(/^"fhirInteractions";r=50;t=\d+$/);
    const refused = answers[2];
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit')).toMatch(/^"fhirInteractions";r=0;t=\d+$/);
    expect(await target.countByIdentifier('Practitioner', SYS, 'q-3')).toBe(0);
    // Blocked until the window ends: even a read (1 point) is refused.
    expect((await send('GET', `${target.url}/Practitioner?_count=1`)).status).toBe(429);
    expect(target.medplum?.quotaState()).toMatchObject({ limit: 250, remaining: 0 });
  });

  test('refill gives the full quota back at once', async () => {
    expect(target.medplum?.quotaState()).toMatchObject({ used: 0, remaining: 250 });
    expect((await send('POST', `${target.url}/Practitioner`, sample('Practitioner', 'q-after'))).status).toBe(201);
  });

  test.each(['batch', 'transaction'] as const)('in a %s, the entry past the quota and every later one answer 429 inside HTTP 200', async (type) => {
    const entries = [0, 1, 2, 3].map((i) => createEntry(sample('Practitioner', `${type}-q-${i}`)));
    const r = await send('POST', target.url, bundle(type, entries));
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['201', '201', '429', '429']);
    expect(r.body.entry[2].response.outcome.issue[0].code).toBe('throttled');
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.headers.get('ratelimit')).toMatch(/r=0;/);
    expect(await target.countByIdentifier('Practitioner', SYS, `${type}-q-1`)).toBe(1);
    expect(await target.countByIdentifier('Practitioner', SYS, `${type}-q-2`)).toBe(0);
  });

  test('an atomic transaction past the quota is 429 at the top level, with Retry-After, and writes nothing', async () => {
    target.medplum?.setAtomicTransactions(true);
    try {
      const r = await send('POST', target.url, bundle('transaction', [0, 1, 2].map((i) => createEntry(sample('Practitioner', `atomic-q-${i}`)))));
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await target.countByIdentifier('Practitioner', SYS, 'atomic-q-0')).toBe(0);
    } finally {
      target.medplum?.setAtomicTransactions(false);
    }
  });

  test('the admin side spends no quota; setQuota(undefined) lifts the limit', async () => {
    await target.seed([0, 1, 2, 3].map((i) => sample('Practitioner', `admin-q-${i}`)));
    expect(target.medplum?.quotaState()).toMatchObject({ used: 0 });
    target.medplum?.setQuota(undefined);
    try {
      const r = await send('POST', target.url, bundle('batch', [0, 1, 2, 3].map((i) => createEntry(sample('Practitioner', `free-${i}`)))));
      expect(statuses(r)).toEqual(['201', '201', '201', '201']);
      expect(r.headers.get('ratelimit')).toBeNull();
    } finally {
      target.medplum?.setQuota({ points: 250 });
    }
  });
});

describe('medplum-like: seeded 409 serialization conflicts', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  async function run(dir: string): Promise<{ statuses: string[]; stored: number; counted: number }> {
    const target = await startFhirTarget('medplum-like', dir, { medplum: { conflictRate: 0.3, seed: 42 } });
    try {
      const entries = Array.from({ length: 20 }, (_, i) => createEntry(sample('Practitioner', `c-${i}`)));
      const r = await send('POST', target.url, bundle('batch', entries));
      expect(r.status).toBe(200);
      return {
        statuses: statuses(r),
        stored: (await target.search('Practitioner')).length,
        counted: target.medplum?.stats().faults.conflicts ?? -1,
      };
    } finally {
      await target.close();
    }
  }

  test('the same seed gives the same conflicts; a conflicting entry is not written', async () => {
    const a = await run(`${tmp.dir}/a`);
    const b = await run(`${tmp.dir}/b`);
    expect(b.statuses).toEqual(a.statuses);
    const conflicts = a.statuses.filter((s) => s === '409').length;
    expect(conflicts).toBeGreaterThan(0);
    expect(conflicts).toBeLessThan(20);
    expect(a.statuses.filter((s) => s !== '409').every((s) => s === '201')).toBe(true);
    expect(a.counted).toBe(conflicts);
    expect(a.stored).toBe(20 - conflicts);
  });
});
