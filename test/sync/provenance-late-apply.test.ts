/**
 * A Provenance create the target applies only after the client gave up on it and after the next
 * attempt's search: on a target with conditional create (full, medplum-like) the If-None-Exist search and
 * the insert are one step on the server, so the late create and the retry still make one Provenance; on a
 * target without it (oracle-like: search by _tag, then create) the two race, and the target ends up with
 * two Provenances carrying one tag (seen once in the invariant test's oracle-like row, seed 482022723,
 * not reproducible by seed: it depends on the server being slower than FHIR_REQUEST_TIMEOUT_MS).
 * The late apply is modelled by holding the first create for a moment before it goes to the real server,
 * while its caller already got the unknown outcome a timeout gives (docs/sync.md section 12).
 * The full target is the in-memory one (test/helpers/fakes.ts): its conditional create is medplum's
 * search then insert with no I/O in between, so the late create (a timer) cannot run between them: one
 * step, as on a server. Oracle-like is a profile of the HTTP server, which stays.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import { UpstreamError } from '../../src/fhir/upstream-error.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ProvenanceContext } from '../../src/sync/provenance.js';
import type { Executor } from '../../src/sync/writers/exec.js';
import { ensureProvenance } from '../../src/sync/writers/provenance-step.js';
import { writeOne } from '../../src/sync/writers/write-one.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { fakeStore, fakeTarget } from '../helpers/fakes.js';
import { tempDir } from '../helpers/tmp.js';
import { capabilitiesOf, client, MRN_SYSTEM, NS, openStore, planned, relatedPerson } from './helpers.js';

const settings = { ns: NS, practiceId: 'practice' };
const context = (id: string): ProvenanceContext => ({ kind: 'participant', recordId: id, recordVersion: 1, consentIds: [], consentRefs: {} });

/** The target's executor, except that the first create reaches the server `delayMs` after its caller was told "no answer". */
function lateFirstCreate(target: TargetPort, delayMs: number): { exec: Executor; late: () => Promise<unknown> } {
  let late: Promise<unknown> | undefined;
  const exec: Executor = {
    search: (type, params) => target.search(type, params),
    read: (type, id) => target.read(type, id),
    update: (r, o) => target.update(r, o),
    conditionalUpdate: (r, q) => target.conditionalUpdate(r, q),
    patch: (type, id, ops, o) => target.patch(type, id, ops, o),
    create: (r, o) => {
      if (late) {
        return target.create(r, o);
      }
      late = new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => target.create(r, o));
      return Promise.reject(UpstreamError.noAnswer('timed out (test: the server applies it later)'));
    },
  };
  return { exec, late: () => late ?? Promise.resolve() };
}

/** Seeds the Patient, writes a RelatedPerson, then its Provenance with a late first create: how many Provenances the target ends with. */
async function run(t: Pick<FhirTarget, 'seed' | 'search'>, target: TargetPort, store: SqliteStore, recordId: string): Promise<number> {
  const [p] = await t.seed([{ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: `MRN-${recordId}` }] } as Resource]);
  const caps = await capabilitiesOf(target);
  const rp = relatedPerson(`Patient/${p.id}`, `${recordId}:MRN-1`);
  const w = await writeOne(planned(rp.resource, rp.key), rp.resource, { targetName: target.name, caps, store, exec: target });
  await store.ledger.recordLedger([w.entry]);
  const { exec, late } = lateFirstCreate(target, 500);
  const d = { targetName: target.name, caps, store, exec, settings };
  // The first attempt times out; the next one runs before the server applied the first create.
  await expect(ensureProvenance(w.entry, true, context(recordId), d)).rejects.toThrow();
  const retry = await ensureProvenance(w.entry, true, context(recordId), d);
  expect(retry).toBeDefined();
  await late();
  return (await t.search('Provenance', { _tag: retry!.identifier })).length;
}

describe('a Provenance create applied late by a full target (in memory: conditional create), after the retry searched', () => {
  test('one Provenance', async () => {
    const full = fakeTarget('full');
    const store = fakeStore();
    try {
      expect(await run(full, full.target, store, 'p-late-f')).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('a Provenance create applied late by an oracle-like target (HTTP: search, then create), after the retry searched', () => {
  const tmp = tempDir();
  let oracle: FhirTarget;
  let store: SqliteStore;

  beforeAll(async () => {
    oracle = await startFhirTarget('oracle-like', `${tmp.dir}/oracle`);
    store = openStore(tmp.dir);
  });
  afterAll(async () => {
    await store.close();
    await oracle.close();
    tmp.cleanup();
  });

  // Known gap (docs/sync.md section 12): without conditional create, a search cannot see a create the
  // target has not applied yet, so the retry creates a second Provenance. No fix without a time bound on
  // how late a target may apply a request the client gave up on.
  test.failing('oracle-like (search, then create): one Provenance', async () => {
    expect(await run(oracle, client(oracle.url), store, 'p-late-o')).toBe(1);
  });
});
