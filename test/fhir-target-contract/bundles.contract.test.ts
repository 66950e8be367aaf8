/**
 * Transaction and batch Bundles on every FhirTarget implementation (harness.ts): references between
 * entries, conditional entries, all-or-nothing transactions, per-entry outcomes of a batch read the way
 * the sync reads them (writers/entry-outcome.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { writeEntryOutcome } from '../../src/sync/writers/entry-outcome.js';
import { describeTargets, SYSTEM, unique } from './harness.js';
import { byIdentifier, patient, refusal } from './fixtures.js';

const bundle = (type: 'transaction' | 'batch', entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type, entry });

const conditionalCreate = (value: string, family = 'Contract'): BundleEntry => ({
  fullUrl: `urn:uuid:${randomUUID()}`,
  resource: patient(value, family),
  request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${byIdentifier(value)}` },
});

describeTargets('bundles', ({ target, where }) => {
  test('transaction: entries reference each other by urn:uuid; each response entry carries a versioned location and an etag', async () => {
    const p = conditionalCreate(unique('t'));
    const rp = unique('rp');
    const related: BundleEntry = {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: { resourceType: 'RelatedPerson', identifier: [{ system: SYSTEM, value: rp }], patient: { reference: p.fullUrl } } as Resource,
      request: { method: 'PUT', url: `RelatedPerson?identifier=${SYSTEM}|${rp}` },
    };
    const answer = await target().transaction(bundle('transaction', [p, related]));
    expect(answer.type).toBe('transaction-response');
    const [po, ro] = (answer.entry ?? []).map((e, i) => writeEntryOutcome(e, [p, related][i].request));
    expect(po).toMatchObject({ ok: true });
    expect(ro).toMatchObject({ ok: true });
    expect(answer.entry?.[0].response).toMatchObject({ status: expect.stringMatching(/^201/), etag: expect.stringMatching(/^W\/"/) });
    const patientId = po.ok ? po.id : '';
    expect(answer.entry?.[1].resource).toMatchObject({ patient: { reference: `Patient/${patientId}` } });
  });

  test('transaction resent (an unknown outcome): the conditional create finds the first one; still one resource', async () => {
    const value = unique('tr');
    const first = await target().transaction(bundle('transaction', [conditionalCreate(value, 'Once')]));
    const again = await target().transaction(bundle('transaction', [conditionalCreate(value, 'Twice')]));
    expect(again.entry?.[0].response?.status).toMatch(/^200/);
    const [a, b] = [first, again].map((x) => writeEntryOutcome(x.entry?.[0]));
    expect(a.ok && b.ok && a.id === b.id).toBe(true);
    const found = await target().search('Patient', { identifier: byIdentifier(value) });
    expect(found.total).toBe(1);
    expect(found.entry?.[0].resource).toMatchObject({ name: [{ family: 'Once' }] });
  });

  test('transaction with a failing entry is refused as a whole with that entry\'s status', async () => {
    const existing = (await target().create(patient(unique('tf')))).resource as Resource;
    await target().update({ ...existing, active: true } as Resource);
    const fresh = conditionalCreate(unique('tf-new'));
    const stale: BundleEntry = { resource: { ...existing, active: false } as Resource, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: `W/"${existing.meta?.versionId}"` } };
    const r = await refusal(target().transaction(bundle('transaction', [fresh, stale])));
    expect(r.status).toBe(412);
  });

  where('atomicTransactions')('transaction all-or-nothing: after a failing entry, the entries before it left nothing behind', async () => {
    const existing = (await target().create(patient(unique('ta')))).resource as Resource;
    await target().update({ ...existing, active: true } as Resource);
    const value = unique('ta-new');
    const stale: BundleEntry = { resource: { ...existing, active: false } as Resource, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: `W/"${existing.meta?.versionId}"` } };
    await expect(target().transaction(bundle('transaction', [conditionalCreate(value), stale]))).rejects.toMatchObject({ status: 412 });
    expect((await target().search('Patient', { identifier: byIdentifier(value) })).total ?? 0).toBe(0);
    expect(await target().read('Patient', existing.id as string)).toMatchObject({ active: true });
  });

  test('batch: each entry succeeds or fails alone, and the sync reads each failure as that request\'s own error', async () => {
    const existing = (await target().create(patient(unique('b')))).resource as Resource;
    await target().update({ ...existing, active: true } as Resource);
    const value = unique('b-new');
    const entries: BundleEntry[] = [
      conditionalCreate(value),
      { resource: { ...existing, active: false } as Resource, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: `W/"${existing.meta?.versionId}"` } },
      { request: { method: 'GET', url: `Patient?identifier=${byIdentifier(value)}` } },
    ];
    const answer = await target().batch(bundle('batch', entries));
    expect(answer.type).toBe('batch-response');
    const [created, stale] = (answer.entry ?? []).map((e, i) => writeEntryOutcome(e, entries[i].request));
    expect(created).toMatchObject({ ok: true });
    expect(stale.ok).toBe(false);
    expect(!stale.ok && stale.error.status).toBe(412);
    expect(answer.entry?.[2].response?.status).toMatch(/^200/);
    expect((answer.entry?.[2].resource as Bundle).total).toBe(1);
    expect((await target().search('Patient', { identifier: byIdentifier(value) })).total).toBe(1);
    expect(await target().read('Patient', existing.id as string)).toMatchObject({ active: true });
  });
});
