/**
 * The writers against the real embedded FHIR server over HTTP under restricted target profiles, where
 * the server itself refuses what the profile does not offer: write-ahead intents where identifier search
 * is missing (oracle-like DocumentReference), PATCH where only patch is offered, batches per dependency
 * level, Provenance at most once, and what epic-like cannot take. A lost answer is simulated the way the
 * writer experiences it: the resource reached the server but the ledger never heard of it. The writers
 * on a full target (conditional writes, If-Match, 412, 404, duplicates, transactions) are in
 * writers.test.ts, without a server.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../src/fhir/capabilities.js';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ProvenanceContext } from '../../src/sync/provenance.js';
import { NotWritableError } from '../../src/sync/writers/errors.js';
import { writeOrdered } from '../../src/sync/writers/ordered.js';
import { ensureProvenance } from '../../src/sync/writers/provenance-step.js';
import { writeOne } from '../../src/sync/writers/write-one.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { capabilitiesOf, client, encounter, MRN_SYSTEM, note, NS, openStore, planned, relatedPerson } from './helpers.js';

const settings = { ns: NS, practiceId: 'practice' };
const context = (id: string): ProvenanceContext => ({ kind: 'participant', recordId: id, recordVersion: 1, consentIds: [], consentRefs: {} });

describe('writers against the embedded FHIR server under restricted profiles', () => {
  const tmp = tempDir();
  let oracle: FhirTarget;
  let epic: FhirTarget;
  let store: SqliteStore;
  const patients: Record<string, string> = {};

  beforeAll(async () => {
    oracle = await startFhirTarget('oracle-like', `${tmp.dir}/oracle`);
    epic = await startFhirTarget('epic-like', `${tmp.dir}/epic`);
    for (const [name, t] of [['oracle', oracle], ['epic', epic]] as const) {
      const [p] = await t.seed([{ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'MRN-1' }] } as Resource]);
      patients[name] = `Patient/${p.id}`;
    }
    store = openStore(tmp.dir);
  });
  afterAll(async () => {
    await store.close();
    await Promise.all([oracle.close(), epic.close()]);
    tmp.cleanup();
  });

  const deps = (target: TargetPort, caps: TargetCapabilities) => ({ targetName: target.name, caps, store, exec: target });

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
