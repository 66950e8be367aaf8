/**
 * The step before settling (reconcile.ts), over a real FHIR server, a real store and a real copy file: a
 * resource the ledger says is on the target but the copy lacks (its write answer was lost, so the
 * recording target never saw it) is read back; when the target cannot answer, it is owed durably (the
 * records still settle), survives a reopen of the copy, and is read back once the target answers.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { LocalCopy, localCopyPath } from '../../src/local-copy/index.js';
import { drainOwed, ensureCopied } from '../../src/local-copy/reconcile.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { LedgerEntry } from '../../src/store/port.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { closedPort } from '../cli/service-env.js';
import { tempDir } from '../helpers/tmp.js';

const NS = 'https://fhir.example-practice.org';
const SID = `${NS}/sid/collateral-contact`;

const tmp = tempDir('reconcile-');
let ehr: FhirTarget;
let store: SqliteStore;

beforeAll(async () => {
  ehr = await startFhirTarget('full', join(tmp.dir, 'ehr'));
  mkdirSync(join(tmp.dir, 'svc'), { recursive: true });
  store = new SqliteStore(join(tmp.dir, 'svc', 'collateral.sqlite'));
});

afterAll(async () => {
  await store?.close();
  await ehr?.close();
  tmp.cleanup();
});

/** A RelatedPerson put on the target behind the sync's back (as a write whose answer was lost), and its ledger entry. */
async function onTargetOnly(value: string): Promise<{ resource: Resource; entry: LedgerEntry }> {
  const [resource] = await ehr.seed([{ resourceType: 'RelatedPerson', identifier: [{ system: SID, value }], patient: { reference: 'Patient/p1' } } as Resource]);
  const entry: LedgerEntry = {
    target: ehr.url,
    kind: 'participant',
    recordId: value,
    resourceType: 'RelatedPerson',
    identifier: `${SID}|${value}`,
    resourceId: resource.id as string,
    versionId: resource.meta?.versionId as string,
    recordVersion: 1,
    mapping: 'participant.v1@1.0.0',
    contentHash: 'h',
    syncedAt: new Date().toISOString(),
  };
  await store.ledger.recordLedger([entry]);
  return { resource, entry };
}

test('a resource the ledger names and the copy lacks is read back before settling', async () => {
  const copy = new LocalCopy(localCopyPath(join(tmp.dir, 'svc'), ehr.url), ehr.url);
  try {
    const { resource } = await onTargetOnly('lost-answer');
    const target = createKitClientTarget({ name: ehr.url, baseUrl: ehr.url, timeoutMs: 10_000 });
    // This attempt confirmed nothing new (ledger []): the resource is "already known" to the sync.
    await ensureCopied(copy, target, store, NS, [{ kind: 'participant', recordId: 'lost-answer', ledger: [] }]);
    expect(await copy.repo.readResource('RelatedPerson', resource.id as string)).toEqual(resource);
    expect(await copy.owed(10)).toEqual([]);
  } finally {
    copy.close();
  }
});

test('an unreachable target: owed durably, the records still settle, read back once it answers', async () => {
  const file = localCopyPath(join(tmp.dir, 'svc'), ehr.url);
  const { resource } = await onTargetOnly('target-down');
  const down = createKitClientTarget({ name: ehr.url, baseUrl: `http://127.0.0.1:${await closedPort()}/fhir`, timeoutMs: 2_000 });
  let copy = new LocalCopy(file, ehr.url);
  // No throw: the settlement (and its AuditEvents) is not held up by the target.
  await ensureCopied(copy, down, store, NS, [{ kind: 'participant', recordId: 'target-down', ledger: [] }]);
  expect(await copy.owed(10)).toEqual([{ resourceType: 'RelatedPerson', id: resource.id, versionId: resource.meta?.versionId }]);
  await expect(copy.repo.readResource('RelatedPerson', resource.id as string)).rejects.toBeDefined();
  // A restart keeps what is owed.
  copy.close();
  copy = new LocalCopy(file, ehr.url);
  try {
    expect(await copy.owed(10)).toHaveLength(1);
    const up = createKitClientTarget({ name: ehr.url, baseUrl: ehr.url, timeoutMs: 10_000 });
    expect(await drainOwed(copy, up)).toBe(0);
    expect(await copy.repo.readResource('RelatedPerson', resource.id as string)).toEqual(resource);
    expect(await copy.owed(10)).toEqual([]);
  } finally {
    copy.close();
  }
});
