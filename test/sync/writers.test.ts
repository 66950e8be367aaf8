/**
 * The writers against a full target, one resource at a time, without a server (test/helpers/fakes.ts:
 * medplum's FhirRouter over its MemoryRepository, and the real store on an in-memory database):
 * conditional writes where declared, search by identifier where not, If-Match with re-read on 412, the
 * ledger forgetting a resource deleted on the target, duplicates for a human, a resent transaction. A
 * lost answer is simulated the way the writer experiences it: the resource reached the target but the
 * ledger never heard of it. Edits "in the EHR" go through the same router (update without If-Match, or
 * medplum's repository for a delete). Version ids are the target's own (UUIDs here): a version is
 * checked against the target's history, not against a number. The writers under restricted target
 * profiles, where the HTTP server refuses what the profile lacks, are in writers-profiles.test.ts.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../src/fhir/capabilities.js';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import { UpstreamError } from '../../src/fhir/upstream-error.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ProvenanceContext } from '../../src/sync/provenance.js';
import { DuplicateOnTargetError } from '../../src/sync/writers/errors.js';
import { ensureProvenance } from '../../src/sync/writers/provenance-step.js';
import { sendTransaction } from '../../src/sync/writers/transaction.js';
import { writeOne } from '../../src/sync/writers/write-one.js';
import { fakeStore, fakeTarget, type FakeTarget } from '../helpers/fakes.js';
import { capabilitiesOf, MRN_SYSTEM, narrowed, NS, planned, relatedPerson } from './helpers.js';

const settings = { ns: NS, practiceId: 'practice' };
const context = (id: string): ProvenanceContext => ({ kind: 'participant', recordId: id, recordVersion: 1, consentIds: [], consentRefs: {} });

describe('writers against a full target (in memory)', () => {
  let full: FakeTarget;
  let store: SqliteStore;
  let patient: string;

  beforeAll(async () => {
    full = fakeTarget('full');
    const [p] = await full.seed([{ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'MRN-1' }] } as Resource]);
    patient = `Patient/${p.id}`;
    store = fakeStore();
  });
  afterAll(async () => {
    await store.close();
  });

  const deps = (target: TargetPort, caps: TargetCapabilities) => ({ targetName: target.name, caps, store, exec: target });
  const count = (key: { system: string; value: string }, type = 'RelatedPerson'): Promise<number> => full.countByIdentifier(type, key.system, key.value);

  test('a conditional upsert, then an update by id guarded by If-Match; one resource', async () => {
    const target = full.target;
    const caps = await capabilitiesOf(target);
    const rp = relatedPerson(patient, 'p-a:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(first).toMatchObject({ created: true, wrote: true });
    expect(await full.versions('RelatedPerson', first.entry.resourceId)).toEqual([first.entry.versionId]);
    await store.ledger.recordLedger([first.entry]);
    const changed = { ...rp.resource, name: [{ family: 'Changed' }] } as Resource;
    const second = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(second).toMatchObject({ created: false, wrote: true, entry: { resourceId: first.entry.resourceId } });
    // The second version, right after the first: no other write in between.
    expect(await full.versions('RelatedPerson', first.entry.resourceId)).toEqual([second.entry.versionId, first.entry.versionId]);
    expect(await count(rp.key)).toBe(1);
  });

  test('without conditional operations: search by identifier before creating, so a lost answer never duplicates', async () => {
    const target = full.target;
    const caps = narrowed(await capabilitiesOf(target), { transaction: false, batch: false, conditional: false });
    const rp = relatedPerson(patient, 'p-b:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(first.created).toBe(true);
    // The answer is lost: the ledger never learns. The retry searches, finds it, and updates it in place.
    const again = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(again).toMatchObject({ created: false, entry: { resourceId: first.entry.resourceId } });
    expect(await count(rp.key)).toBe(1);
  });

  test('create-if-none-exist finds an existing resource and references it without writing', async () => {
    const target = full.target;
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const key = { system: `${NS}/sid/collateral-contact`, value: 'dr-x:MRN-1' };
    const [existing] = await full.seed([{ resourceType: 'Practitioner', identifier: [key], name: [{ family: 'Theirs' }] } as Resource]);
    const ours = { resourceType: 'Practitioner', identifier: [key], name: [{ family: 'Ours' }] } as Resource;
    const r = await writeOne(planned(ours, key, { write: 'create-if-none-exist' }), ours, deps(target, caps));
    expect(r).toMatchObject({ wrote: false, entry: { resourceId: existing.id } });
    const [onServer] = await full.search('Practitioner', { identifier: `${key.system}|${key.value}` });
    expect((onServer as any).name[0].family).toBe('Theirs');
  });

  test('412: someone changed the resource since our write; re-read and re-apply on the version read', async () => {
    const target = full.target;
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patient, 'p-c:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    // Out of band (a clinician in the EHR): a second version. Our ledger still names the first.
    const edit = await target.update({ ...rp.resource, id: first.entry.resourceId, name: [{ family: 'TheirEdit' }] } as Resource);
    expect(edit.status).toBe(200);
    // A stale If-Match is refused by the target: the precondition the writer recovers from.
    await expect(target.update({ ...rp.resource, id: first.entry.resourceId, name: [{ family: 'x' }] } as Resource, { ifMatch: `W/"${first.entry.versionId}"` })).rejects.toMatchObject({ status: 412 });
    const ours = { ...rp.resource, name: [{ family: 'OurChange' }] } as Resource;
    const r = await writeOne(planned(ours, rp.key), ours, deps(target, caps));
    expect(r.entry.resourceId).toBe(first.entry.resourceId);
    const current = await target.read('RelatedPerson', first.entry.resourceId);
    expect((current as any).name[0].family).toBe('OurChange');
    expect(current.meta?.versionId).toBe(r.entry.versionId);
    // Ours, on top of theirs, on top of our first: at least three versions, ours the newest.
    const versions = await full.versions('RelatedPerson', first.entry.resourceId);
    expect(versions.length).toBeGreaterThanOrEqual(3);
    expect(versions[0]).toBe(r.entry.versionId);
    expect(versions.at(-1)).toBe(first.entry.versionId);
  });

  test('404 on update: the resource was deleted on the target; the ledger forgets it and the next attempt creates it again', async () => {
    const target = full.target;
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patient, 'p-d:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    await target.repo.deleteResource('RelatedPerson', first.entry.resourceId);
    const changed = { ...rp.resource, name: [{ family: 'Back' }] } as Resource;
    const err = await writeOne(planned(changed, rp.key), changed, deps(target, caps)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect([404, 410]).toContain((err as UpstreamError).status);
    expect(await store.ledger.getLedgerByIdentifier(target.name, 'RelatedPerson', `${rp.key.system}|${rp.key.value}`)).toBeUndefined();
    const again = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(again.created).toBe(true);
    expect(await count(rp.key)).toBe(1);
  });

  test('two resources with our identifier on the target: a duplicate for a human, never a guess', async () => {
    const target = full.target;
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patient, 'p-e:MRN-1');
    for (let i = 0; i < 2; i++) {
      await target.create(rp.resource);
    }
    await expect(writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps))).rejects.toBeInstanceOf(DuplicateOnTargetError);
  });

  test('transaction: a resend of the same transaction (unknown outcome) adds no resource; the Provenance follows the confirmed version, once', async () => {
    const target = full.target;
    const caps = await capabilitiesOf(target);
    const rp = relatedPerson(patient, 'p-j:MRN-1');
    const writes = [planned(rp.resource, rp.key)];
    const a = await sendTransaction(target, writes);
    const b = await sendTransaction(target, writes);
    // Only the resource rides in the transaction: a Provenance waits for the version the target confirms.
    expect(a.map((l) => l.resourceType)).toEqual(['RelatedPerson']);
    expect(b.map((l) => l.resourceId)).toEqual(a.map((l) => l.resourceId));
    expect(await count(rp.key)).toBe(1);
    const d = { ...deps(target, caps), settings };
    await store.ledger.recordLedger(b);
    const p1 = await ensureProvenance(b[0], true, context('p-j'), d);
    await store.ledger.deleteLedger(target.name, 'Provenance', p1!.identifier);
    const p2 = await ensureProvenance(b[0], true, context('p-j'), d);
    expect(p2?.resourceId).toBe(p1!.resourceId);
    const provs = await full.search('Provenance', { _tag: p1!.identifier });
    expect(provs).toHaveLength(1);
    expect(provs[0]).toMatchObject({ target: [{ reference: `RelatedPerson/${b[0].resourceId}/_history/${b[0].versionId}` }] });
  });
});
