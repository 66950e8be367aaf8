/**
 * The writers against the real embedded FHIR server over HTTP, one resource at a time: conditional
 * writes where declared, search by identifier where not, write-ahead intents where identifier search
 * is missing (oracle-like DocumentReference), If-Match with re-read on 412, PATCH where only patch is
 * offered, batches per dependency level, Provenance at most once. A lost answer is simulated the way
 * the writer experiences it: the resource reached the server but the ledger never heard of it.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../src/fhir/capabilities.js';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import { UpstreamError } from '../../src/fhir/upstream-error.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ProvenanceContext } from '../../src/sync/provenance.js';
import { DuplicateOnTargetError, NotWritableError } from '../../src/sync/writers/errors.js';
import { writeOrdered } from '../../src/sync/writers/ordered.js';
import { ensureProvenance } from '../../src/sync/writers/provenance-step.js';
import { sendTransaction } from '../../src/sync/writers/transaction.js';
import { writeOne } from '../../src/sync/writers/write-one.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { capabilitiesOf, client, encounter, MRN_SYSTEM, narrowed, note, NS, openStore, planned, relatedPerson } from './helpers.js';

const settings = { ns: NS, practiceId: 'practice' };
const context = (id: string): ProvenanceContext => ({ kind: 'participant', recordId: id, recordVersion: 1, consentIds: [], consentRefs: {} });

describe('writers against the embedded FHIR server', () => {
  const tmp = tempDir();
  let full: FhirTarget;
  let oracle: FhirTarget;
  let epic: FhirTarget;
  let store: SqliteStore;
  const patients: Record<string, string> = {};

  beforeAll(async () => {
    full = await startFhirTarget('full', `${tmp.dir}/full`);
    oracle = await startFhirTarget('oracle-like', `${tmp.dir}/oracle`);
    epic = await startFhirTarget('epic-like', `${tmp.dir}/epic`);
    for (const [name, t] of [['full', full], ['oracle', oracle], ['epic', epic]] as const) {
      const [p] = await t.seed([{ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'MRN-1' }] } as Resource]);
      patients[name] = `Patient/${p.id}`;
    }
    store = openStore(tmp.dir);
  });
  afterAll(async () => {
    await store.close();
    await Promise.all([full.close(), oracle.close(), epic.close()]);
    tmp.cleanup();
  });

  const deps = (target: TargetPort, caps: TargetCapabilities) => ({ targetName: target.name, caps, store, exec: target });
  const count = (t: FhirTarget, key: { system: string; value: string }, type = 'RelatedPerson'): Promise<number> => t.countByIdentifier(type, key.system, key.value);

  test('full server: a conditional upsert, then an update by id guarded by If-Match; one resource', async () => {
    const target = client(full.url);
    const caps = await capabilitiesOf(target);
    const rp = relatedPerson(patients.full, 'p-a:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(first).toMatchObject({ created: true, wrote: true, entry: { versionId: '1' } });
    await store.ledger.recordLedger([first.entry]);
    const changed = { ...rp.resource, name: [{ family: 'Changed' }] } as Resource;
    const second = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(second).toMatchObject({ created: false, wrote: true, entry: { resourceId: first.entry.resourceId, versionId: '2' } });
    expect(await count(full, rp.key)).toBe(1);
  });

  test('without conditional operations: search by identifier before creating, so a lost answer never duplicates', async () => {
    const target = client(full.url);
    const caps = narrowed(await capabilitiesOf(target), { transaction: false, batch: false, conditional: false });
    const rp = relatedPerson(patients.full, 'p-b:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(first.created).toBe(true);
    // The answer is lost: the ledger never learns. The retry searches, finds it, and updates it in place.
    const again = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    expect(again).toMatchObject({ created: false, entry: { resourceId: first.entry.resourceId } });
    expect(await count(full, rp.key)).toBe(1);
  });

  test('create-if-none-exist finds an existing resource and references it without writing', async () => {
    const target = client(full.url);
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
    const target = client(full.url);
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patients.full, 'p-c:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    // Out of band (a clinician in the EHR): version 2. Our ledger still says version 1.
    const res = await fetch(`${full.url}/RelatedPerson/${first.entry.resourceId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...rp.resource, id: first.entry.resourceId, name: [{ family: 'TheirEdit' }] }),
    });
    expect(res.status).toBe(200);
    // A stale If-Match is refused by the server: the precondition the writer recovers from.
    await expect(target.update({ ...rp.resource, id: first.entry.resourceId, name: [{ family: 'x' }] } as Resource, { ifMatch: 'W/"1"' })).rejects.toMatchObject({ status: 412 });
    const ours = { ...rp.resource, name: [{ family: 'OurChange' }] } as Resource;
    const r = await writeOne(planned(ours, rp.key), ours, deps(target, caps));
    expect(r.entry.resourceId).toBe(first.entry.resourceId);
    const current = await target.read('RelatedPerson', first.entry.resourceId);
    expect((current as any).name[0].family).toBe('OurChange');
    expect(current.meta?.versionId).toBe(r.entry.versionId);
    expect(Number(r.entry.versionId)).toBeGreaterThanOrEqual(3);
  });

  test('404 on update: the resource was deleted on the target; the ledger forgets it and the next attempt creates it again', async () => {
    const target = client(full.url);
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patients.full, 'p-d:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    expect((await fetch(`${full.url}/RelatedPerson/${first.entry.resourceId}`, { method: 'DELETE' })).status).toBe(200);
    const changed = { ...rp.resource, name: [{ family: 'Back' }] } as Resource;
    const err = await writeOne(planned(changed, rp.key), changed, deps(target, caps)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect([404, 410]).toContain((err as UpstreamError).status);
    expect(await store.ledger.getLedgerByIdentifier(target.name, 'RelatedPerson', `${rp.key.system}|${rp.key.value}`)).toBeUndefined();
    const again = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(again.created).toBe(true);
    expect(await count(full, rp.key)).toBe(1);
  });

  test('two resources with our identifier on the target: a duplicate for a human, never a guess', async () => {
    const target = client(full.url);
    const caps = narrowed(await capabilitiesOf(target), { conditional: false });
    const rp = relatedPerson(patients.full, 'p-e:MRN-1');
    for (let i = 0; i < 2; i++) {
      await fetch(`${full.url}/RelatedPerson`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(rp.resource) });
    }
    await expect(writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps))).rejects.toBeInstanceOf(DuplicateOnTargetError);
  });

  test('oracle-like: RelatedPerson is created, then changed with PATCH (no PUT offered)', async () => {
    const target = client(oracle.url);
    const caps = await capabilitiesOf(target);
    expect(caps.can('RelatedPerson', 'update')).toBe(false);
    const rp = relatedPerson(patients.oracle, 'p-f:MRN-1');
    const first = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    const changed = { ...rp.resource, name: [{ family: 'Patched' }], gender: 'female' } as Resource;
    const r = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(r).toMatchObject({ wrote: true, entry: { resourceId: first.entry.resourceId, versionId: '2' } });
    const [onServer] = await oracle.search('RelatedPerson', { identifier: `${rp.key.system}|${rp.key.value}` });
    expect(onServer).toMatchObject({ name: [{ family: 'Patched' }], gender: 'female' });
    // Unchanged content: nothing to patch, nothing written.
    await store.ledger.recordLedger([r.entry]);
    const same = await writeOne(planned(changed, rp.key), changed, deps(target, caps));
    expect(same).toMatchObject({ wrote: false, entry: { versionId: '2' } });
  });

  test('oracle-like DocumentReference (no identifier search): a write intent before the create; a lost answer is found by patient and type', async () => {
    const target = client(oracle.url);
    const caps = await capabilitiesOf(target);
    expect(caps.canSearch('DocumentReference', 'identifier')).toBe(false);
    const doc = note(patients.oracle, 'n-g');
    const id = `${doc.key.system}|${doc.key.value}`;
    const first = await writeOne(planned(doc.resource, doc.key, { kind: 'note' }), doc.resource, deps(target, caps));
    expect(first.created).toBe(true);
    expect(await store.ledger.getWriteIntent(target.name, 'DocumentReference', id)).toBeDefined();
    // The answer is lost (no ledger). The intent says a create may have gone: search, compare identifiers, update.
    const changed = { ...doc.resource, description: 'second attempt' } as Resource;
    const again = await writeOne(planned(changed, doc.key, { kind: 'note' }), changed, deps(target, caps));
    expect(again).toMatchObject({ created: false, entry: { resourceId: first.entry.resourceId } });
    expect(await oracle.countByIdentifier('DocumentReference', doc.key.system, doc.key.value)).toBe(1);
    await store.ledger.recordLedger([again.entry]);
    expect(await store.ledger.getWriteIntent(target.name, 'DocumentReference', id)).toBeUndefined();
  });

  test('oracle-like batch: each dependency level goes as batch Bundles, references resolved between levels', async () => {
    const base = client(oracle.url);
    const batches: number[] = [];
    const target: TargetPort = {
      ...base,
      batch: async (b: Bundle) => {
        batches.push(b.entry?.length ?? 0);
        return base.batch(b);
      },
    };
    const caps = await capabilitiesOf(base);
    const rp1 = relatedPerson(patients.oracle, 'p-h1:MRN-1');
    const rp2 = relatedPerson(patients.oracle, 'p-h2:MRN-1');
    const w1 = planned(rp1.resource, rp1.key);
    const w2 = planned(rp2.resource, rp2.key);
    const enc = encounter(patients.oracle, 's-h', w1.fullUrl);
    const we = planned(enc.resource, enc.key, { kind: 'session', id: 's-h' });
    const doc = note(patients.oracle, 'n-h', 'text', we.fullUrl);
    const wd = planned(doc.resource, doc.key, { kind: 'note', id: 'n-h' });
    const ledger = await writeOrdered([w1, w2, we, wd], { target, caps, store, provenance: { settings, contextFor: (w) => context(w.mapped.sourceId) } }, true);
    // Level 0 searches both RelatedPersons in one batch, then creates both in one batch.
    expect(batches.slice(0, 2)).toEqual([2, 2]);
    const byType = (t: string) => ledger.filter((l) => l.resourceType === t);
    expect(byType('RelatedPerson')).toHaveLength(2);
    expect(byType('Provenance')).toHaveLength(4);
    const [e] = await oracle.search('Encounter', { identifier: `${enc.key.system}|${enc.key.value}` });
    expect((e as any).participant[0].individual.reference).toBe(`RelatedPerson/${byType('RelatedPerson')[0].resourceId}`);
    const docs = await oracle.search('DocumentReference', { patient: patients.oracle });
    const d = docs.find((r: any) => r.identifier?.[0]?.value === 'n-h') as any;
    expect(d.context.encounter[0].reference).toBe(`Encounter/${e.id}`);
    const encProv = byType('Provenance').find((l) => l.recordId === 's-h')!;
    expect(await oracle.search('Provenance', { _tag: encProv.identifier })).toHaveLength(1);
  });

  test('Provenance is written once per write even when the ledger forgot it (found by its write tag)', async () => {
    const target = client(oracle.url);
    const caps = await capabilitiesOf(target);
    const rp = relatedPerson(patients.oracle, 'p-i:MRN-1');
    const w = await writeOne(planned(rp.resource, rp.key), rp.resource, deps(target, caps));
    await store.ledger.recordLedger([w.entry]);
    const d = { ...deps(target, caps), settings };
    const p1 = await ensureProvenance(w.entry, true, context('p-i'), d);
    expect(p1).toBeDefined();
    expect(await ensureProvenance(w.entry, true, context('p-i'), d)).toBeUndefined();
    await store.ledger.deleteLedger(target.name, 'Provenance', p1!.identifier);
    const p3 = await ensureProvenance(w.entry, true, context('p-i'), d);
    expect(p3?.resourceId).toBe(p1!.resourceId);
    const provs = await oracle.search('Provenance', { _tag: p1!.identifier });
    expect(provs).toHaveLength(1);
    expect(provs[0]).toMatchObject({
      target: [{ reference: `RelatedPerson/${w.entry.resourceId}/_history/1` }],
      activity: { coding: [{ code: 'CREATE' }] },
      entity: [{ role: 'source', what: { identifier: { value: 'participant/p-i/v1' } } }],
    });
  });

  test('full server transaction: a resend of the same transaction (unknown outcome) adds no resource and no Provenance', async () => {
    const target = client(full.url);
    const caps = await capabilitiesOf(target);
    const rp = relatedPerson(patients.full, 'p-j:MRN-1');
    const writes = [planned(rp.resource, rp.key)];
    const prov = { settings, contextFor: () => context('p-j') };
    expect(caps.can('Provenance', 'create') && caps.canSearch('Provenance', '_tag')).toBe(true);
    const a = await sendTransaction(target, writes, prov);
    const b = await sendTransaction(target, writes, prov);
    expect(a.map((l) => l.resourceType)).toEqual(['RelatedPerson', 'Provenance']);
    expect(b.map((l) => l.resourceId)).toEqual(a.map((l) => l.resourceId));
    expect(await count(full, rp.key)).toBe(1);
    expect(await full.search('Provenance', { _tag: a[1].identifier })).toHaveLength(1);
  });

  test('epic-like: DocumentReference is created and updated; Encounter cannot be written; no Provenance is sent', async () => {
    const target = client(epic.url);
    const caps = await capabilitiesOf(target);
    const doc = note(patients.epic, 'n-k');
    const first = await writeOne(planned(doc.resource, doc.key, { kind: 'note' }), doc.resource, deps(target, caps));
    await store.ledger.recordLedger([first.entry]);
    const changed = { ...doc.resource, description: 'v2' } as Resource;
    const second = await writeOne(planned(changed, doc.key, { kind: 'note' }), changed, deps(target, caps));
    expect(second.entry).toMatchObject({ resourceId: first.entry.resourceId, versionId: '2' });
    const enc = encounter(patients.epic, 's-k');
    await expect(writeOne(planned(enc.resource, enc.key, { kind: 'session' }), enc.resource, deps(target, caps))).rejects.toBeInstanceOf(NotWritableError);
    expect(await ensureProvenance(second.entry, false, context('n-k'), { ...deps(target, caps), settings })).toBeUndefined();
    expect(await epic.search('Provenance')).toHaveLength(0);
  });
});
