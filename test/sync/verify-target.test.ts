/**
 * verify-target (issue #9 item 2) against real parts: the embedded FHIR server over HTTP as the target,
 * the real service syncing into it, the command run in-process on the service's SQLite store (read-only,
 * while the service runs). A clean sync reports nothing; then the target is damaged behind the
 * service's back, one way per check, and each damage is reported, with exit code 1 and no PHI.
 */
import type { Resource } from '@medplum/fhirtypes';
import { verifyTargetCommand } from '../../src/cli/verify-target-command.js';
import { writeTagSystem } from '../../src/sync/provenance.js';
import type { VerifyReport } from '../../src/sync/verify-target.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, toNdjson } from './dataset.js';
import { NS } from './helpers.js';

async function run(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await verifyTargetCommand(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env });
  return { code, out, err };
}

/** A write on the target's unrestricted side, as another system (or a person) would make it. */
async function admin(target: FhirTarget, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${target.adminUrl}/${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
  return res.status === 204 ? undefined : res.json();
}

describe('verify-target against the full profile, through the service and its store', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let svc: TestService;
  let env: Record<string, string>;
  const data = buildDataset({ clients: 3, sessionsPerClient: 2, prefix: 'vt' });

  beforeAll(async () => {
    target = await startFhirTarget('full', `${tmp.dir}/target`);
    await target.seed(data.seed);
    svc = await startTestService(`${tmp.dir}/svc`, { FHIR_BASE_URL: target.url, SYNC_MIN_BACKOFF_MS: '50', SYNC_MAX_BACKOFF_MS: '500' });
    env = { DATA_DIR: `${tmp.dir}/svc`, FHIR_BASE_URL: target.url };
    expect((await svc.api('POST', '/api/v1/import', toNdjson(data.records), { 'content-type': 'application/x-ndjson' })).body.rejected).toBe(0);
    await waitFor(
      async () => {
        for (const r of data.permitted) {
          const s = (await svc.store.status.getSyncStates(r.kind, r.record.id)).find((x) => x.target === target.url);
          if (s?.state !== 'synced') {
            return false;
          }
        }
        return true;
      },
      60_000,
      'the dataset to sync'
    );
  }, 90_000);

  afterAll(async () => {
    await svc?.close();
    await target?.close();
    tmp.cleanup();
  });

  test('a clean sync: zero problems, exit 0, every ledger entry and Provenance looked at', async () => {
    const { code, out, err } = await run(['--json'], env);
    expect(err).toBe('');
    const report = JSON.parse(out) as VerifyReport;
    const ledger = await svc.store.ledger.listLedger(target.url);
    expect(report).toEqual({
      target: target.url,
      problems: [],
      checked: { ledgerEntries: ledger.length, identifiers: ledger.length, provenances: ledger.filter((l) => l.resourceType === 'Provenance').length, versionsRead: 0 },
      notChecked: [],
    });
    expect(report.checked.provenances).toBeGreaterThan(0);
    expect(code).toBe(0);
    const text = await run([], env);
    expect(text.code).toBe(0);
    expect(text.out).toContain('no problems');
  }, 60_000);

  test('each damage is reported: deleted, changed behind our back, duplicated, orphan Provenances; exit 1, no PHI', async () => {
    const ledger = await svc.store.ledger.listLedger(target.url);
    const pick = (type: string): (typeof ledger)[number] => ledger.find((l) => l.resourceType === type) as (typeof ledger)[number];
    const deleted = pick('RelatedPerson');
    const changed = pick('Encounter');
    const twin = pick('DocumentReference');
    // 1. Someone deletes a resource we wrote.
    await admin(target, 'DELETE', `RelatedPerson/${deleted.resourceId}`);
    // 2. Someone updates one behind our back (a new version the ledger does not know).
    const enc = await admin(target, 'GET', `Encounter/${changed.resourceId}`);
    const updated = await admin(target, 'PUT', `Encounter/${changed.resourceId}`, { ...enc, status: 'cancelled' });
    // 3. Someone creates a second resource with our identifier.
    const doc = await admin(target, 'GET', `DocumentReference/${twin.resourceId}`);
    const { id: _id, meta: _meta, ...copy } = doc as Resource & { id: string };
    const second = await admin(target, 'POST', 'DocumentReference', copy);
    // 4. Orphan Provenances with our write tag: one pointing at nothing, one at a version that never existed.
    const tag = { system: writeTagSystem(NS), code: 'orphan-test-0001' };
    const provenance = (reference: string, code: string): Resource =>
      ({
        resourceType: 'Provenance',
        meta: { tag: [{ ...tag, code }] },
        target: [{ reference }],
        recorded: new Date().toISOString(),
        agent: [{ who: { display: 'someone' } }],
      }) as Resource;
    const nowhere = await admin(target, 'POST', 'Provenance', provenance('Encounter/does-not-exist/_history/1', 'orphan-1'));
    const noVersion = await admin(target, 'POST', 'Provenance', provenance(`Encounter/${changed.resourceId}/_history/999`, 'orphan-2'));
    // 5. A second Provenance with the tag of one we wrote.
    const ours = pick('Provenance');
    const ourCode = ours.identifier.split('|')[1];
    const tagTwin = await admin(target, 'POST', 'Provenance', provenance(`Encounter/${changed.resourceId}/_history/${changed.versionId}`, ourCode));

    const { code, out } = await run(['--json'], env);
    expect(code).toBe(1);
    const report = JSON.parse(out) as VerifyReport;
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { check: 'missing', resourceType: 'RelatedPerson', id: deleted.resourceId, identifier: `${NS}/sid/collateral-contact|…`, record: `participant/${deleted.recordId}` },
        {
          check: 'changed',
          resourceType: 'Encounter',
          id: changed.resourceId,
          identifier: `${NS}/sid/session|…`,
          record: `session/${changed.recordId}`,
          ledgerVersion: changed.versionId,
          targetVersion: updated.meta.versionId,
        },
        { check: 'duplicate', resourceType: 'DocumentReference', identifier: `${NS}/sid/note|…`, record: `note/${twin.recordId}`, ids: [twin.resourceId, second.id].sort() },
        { check: 'orphan-provenance', id: nowhere.id, target: 'Encounter/does-not-exist/_history/1', reason: 'target-missing' },
        { check: 'orphan-provenance', id: noVersion.id, target: `Encounter/${changed.resourceId}/_history/999`, reason: 'version-missing' },
        { check: 'duplicate', resourceType: 'Provenance', identifier: ours.identifier, record: `${ours.kind}/${ours.recordId}`, ids: [ours.resourceId, tagTwin.id].sort() },
      ])
    );
    // The deleted RelatedPerson's own Provenances now point at nothing: orphans too, and nothing else is reported.
    const rest = report.problems.filter((p) => !(p.check === 'orphan-provenance' && p.reason === 'target-missing' && p.target.startsWith(`RelatedPerson/${deleted.resourceId}/`)));
    expect(rest).toHaveLength(6);
    expect(report.problems.length).toBeGreaterThan(rest.length);
    // The earlier version of the changed Encounter was read to prove its Provenance is no orphan.
    expect(report.checked.versionsRead).toBeGreaterThanOrEqual(2);

    // Small chunks and pages (two ids or identifiers per search, `_count=2`, next links followed): the same findings.
    const paged = await run(['--json', '--chunk-size', '2'], env);
    expect(paged.code).toBe(1);
    const sorted = (r: VerifyReport): string[] => r.problems.map((p) => JSON.stringify(p)).sort();
    expect(sorted(JSON.parse(paged.out) as VerifyReport)).toEqual(sorted(report));

    const text = await run([], env);
    expect(text.code).toBe(1);
    expect(text.out).toContain(`MISSING RelatedPerson/${deleted.resourceId}`);
    expect(text.out).toContain(`CHANGED Encounter/${changed.resourceId}`);
    expect(text.out).toContain(`DUPLICATE DocumentReference ${NS}/sid/note|… (record note/${twin.recordId})`);
    expect(text.out).toContain(`ORPHAN Provenance/${nowhere.id}: target-missing`);
    // No PHI: no names, note text, MRNs or the therapist's NPI value.
    expect(text.out + out).not.toMatch(/Guardian\d|Teacher\d|Client\d|steady progress|MRN-vt|1234567893/);
  }, 60_000);

  test('an unreachable target or a missing store is an error: exit 2', async () => {
    expect((await run([], { DATA_DIR: `${tmp.dir}/nowhere`, FHIR_BASE_URL: target.url })).code).toBe(2);
    const down = await run([], { ...env, FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', FHIR_REQUEST_TIMEOUT_MS: '2000' });
    expect(down.code).toBe(2);
    expect(down.err).toMatch(/verify-target could not run/);
  }, 30_000);
});

describe('verify-target against the embedded server of a running service', () => {
  const tmp = tempDir();
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService(`${tmp.dir}/svc`);
  }, 30_000);
  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  test('reaches <service>/fhir with the API token; an orphan Provenance with our tag is reported', async () => {
    const env = { DATA_DIR: `${tmp.dir}/svc` };
    const flags = ['--url', svc.url, '--token', svc.apiTokens[0]];
    const clean = await run([...flags, '--json'], env);
    expect(clean.err).toBe('');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.out)).toMatchObject({ target: 'embedded', problems: [], notChecked: [] });
    const created = await svc.api('POST', '/fhir/Provenance', {
      resourceType: 'Provenance',
      meta: { tag: [{ system: writeTagSystem(NS), code: 'embedded-orphan' }] },
      target: [{ reference: 'Encounter/gone' }],
      recorded: new Date().toISOString(),
      agent: [{ who: { display: 'someone' } }],
    }, { 'content-type': 'application/fhir+json' });
    expect(created.status).toBe(201);
    const found = await run([...flags, '--json'], env);
    expect(found.code).toBe(1);
    expect(JSON.parse(found.out).problems).toEqual([{ check: 'orphan-provenance', id: created.body.id, target: 'Encounter/gone', reason: 'target-missing' }]);
    // Without a token the embedded server cannot be read: exit 2, saying where a token was looked for.
    const noToken = await run([], { DATA_DIR: `${tmp.dir}/elsewhere`, PORT: String(svc.port) });
    expect(noToken.code).toBe(2);
    expect(noToken.err).toMatch(/No API token/);
  }, 30_000);
});

describe('verify-target against the oracle-like profile (no identifier search on DocumentReference)', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let svc: TestService;
  const data = buildDataset({ clients: 2, sessionsPerClient: 2, prefix: 'vo' });
  beforeAll(async () => {
    target = await startFhirTarget('oracle-like', `${tmp.dir}/target`);
    await target.seed(data.seed);
    svc = await startTestService(`${tmp.dir}/svc`, { FHIR_BASE_URL: target.url, SYNC_MIN_BACKOFF_MS: '50', SYNC_MAX_BACKOFF_MS: '500' });
    expect((await svc.api('POST', '/api/v1/import', toNdjson(data.records), { 'content-type': 'application/x-ndjson' })).body.rejected).toBe(0);
    await waitFor(
      async () => {
        for (const r of data.permitted) {
          const s = (await svc.store.status.getSyncStates(r.kind, r.record.id)).find((x) => x.target === target.url);
          if (!['synced', 'not-writable'].includes(s?.state ?? '')) {
            return false;
          }
        }
        return true;
      },
      60_000,
      'the dataset to sync'
    );
  }, 90_000);
  afterAll(async () => {
    await svc?.close();
    await target?.close();
    tmp.cleanup();
  });

  test('clean: zero problems, and the gap is named; a twin DocumentReference of the same patient is still found', async () => {
    const env = { DATA_DIR: `${tmp.dir}/svc`, FHIR_BASE_URL: target.url };
    const clean = await run(['--json'], env);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.out) as VerifyReport;
    expect(report.problems).toEqual([]);
    expect(report.notChecked).toEqual([expect.stringMatching(/^duplicates of \d+ DocumentReference identifiers looked for among the same patients' DocumentReference only/)]);

    const twin = (await svc.store.ledger.listLedger(target.url)).find((l) => l.resourceType === 'DocumentReference')!;
    const doc = await admin(target, 'GET', `DocumentReference/${twin.resourceId}`);
    const { id: _id, meta: _meta, ...copy } = doc as Resource & { id: string };
    const second = await admin(target, 'POST', 'DocumentReference', copy);
    const found = await run(['--json', '--chunk-size', '1'], env);
    expect(found.code).toBe(1);
    expect((JSON.parse(found.out) as VerifyReport).problems).toEqual([
      { check: 'duplicate', resourceType: 'DocumentReference', identifier: `${NS}/sid/note|…`, record: `note/${twin.recordId}`, ids: [twin.resourceId, second.id].sort() },
    ]);
    // With the service stopped, the store still opens read-only: the same finding.
    await svc.close();
    svc = undefined as unknown as TestService;
    const stopped = await run(['--json'], env);
    expect(stopped.code).toBe(1);
    expect((JSON.parse(stopped.out) as VerifyReport).problems).toEqual((JSON.parse(found.out) as VerifyReport).problems);
  }, 60_000);
});
