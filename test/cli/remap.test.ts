/**
 * remap on real stored data: the demo dataset goes through the real service (embedded store, embedded
 * FHIR server, consent gate); then, with the service stopped, `remap --dry-run` with the deployed
 * mappings finds nothing to change, and with one ConceptMap entry changed it reports exactly the
 * resources that entry affects. Also: every resource the demo put on the embedded FHIR server passes
 * $validate against its profile.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIo } from '../../src/cli/io.js';
import { runWorkbenchCommand } from '../../src/cli/workbench.js';
import type { RecordKind } from '../../src/domain/records.js';
import { projectRoot } from '../../src/paths.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = projectRoot();
const COLLECTION: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };
const lines = readFileSync(join(ROOT, 'examples', 'records.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { kind: RecordKind; record: any });

describe('remap on the demo dataset', () => {
  const tmp = tempDir();
  const temps: string[] = [];
  let svc: TestService | undefined;
  let onServer: any[] = [];
  let validations: { resourceType: string; id: string; outcome: any }[] = [];

  beforeAll(async () => {
    svc = await startTestService(tmp.dir);
    const seed = await svc.api('POST', '/fhir', readFileSync(join(ROOT, 'examples', 'fhir-seed.json'), 'utf8'), { 'content-type': 'application/fhir+json' });
    expect(seed.status).toBe(200);
    const imported = await svc.api('POST', '/api/v1/import', readFileSync(join(ROOT, 'examples', 'records.ndjson'), 'utf8'), { 'content-type': 'application/x-ndjson' });
    expect(imported.body).toMatchObject({ lines: 44, rejected: 0 });
    // Done when nothing is pending any more (held records stay held: the consent gate decides).
    await waitFor(
      async () => {
        const states = await Promise.all(lines.map(async (l) => (await svc!.api('GET', `/api/v1/${COLLECTION[l.kind]}/${l.record.id}`)).body.sync?.[0]?.state));
        return states.every((s) => s && s !== 'pending');
      },
      60_000,
      'the demo to sync'
    );
    for (const type of ['RelatedPerson', 'Practitioner', 'Consent', 'Encounter', 'DocumentReference', 'Provenance']) {
      const bundle = (await svc.api('GET', `/fhir/${type}?_count=1000`)).body;
      onServer.push(...(bundle.entry ?? []).map((e: any) => e.resource));
    }
    // Ours: what the mappings produced and the Provenance of each write (the seed's Practitioners are the EHR's).
    onServer = onServer.filter((r) => r.meta?.profile?.some((p: string) => p.startsWith('https://fhir.example-practice.org/StructureDefinition/')));
    validations = await Promise.all(
      onServer.map(async (r) => ({ resourceType: r.resourceType, id: r.id, outcome: (await svc!.api('POST', '/fhir/$validate', r, { 'content-type': 'application/fhir+json' })).body }))
    );
    await svc.close();
    svc = undefined;
  }, 120_000);

  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
    temps.forEach((t) => rmSync(t, { recursive: true, force: true }));
  });

  async function remap(...args: string[]): Promise<{ code: number | undefined; out: string; json: any }> {
    const io = memoryIo({}, { DATA_DIR: tmp.dir });
    const code = await runWorkbenchCommand(['remap', ...args], io);
    const out = io.stdout();
    return { code, out, json: args.includes('--json') ? JSON.parse(out) : undefined };
  }

  test('every resource the demo wrote to the embedded server passes $validate against its profile', () => {
    const types = new Set(onServer.map((r) => r.resourceType));
    expect([...types].sort()).toEqual(['Consent', 'DocumentReference', 'Encounter', 'Practitioner', 'Provenance', 'RelatedPerson']);
    const failures = validations.filter((v) => v.outcome.id !== 'validation-passed');
    expect(failures).toEqual([]);
    expect(validations.every((v) => /^Valid against https:\/\/fhir\.example-practice\.org\/StructureDefinition\//.test(v.outcome.issue.at(-1).details.text))).toBe(true);
  });

  test('with the deployed mappings nothing would change', async () => {
    const r = await remap('--dry-run', '--json');
    expect(r.code).toBe(0);
    expect(r.json.resources.changed).toBe(0);
    // Every mapped resource on the server is found unchanged (the Provenances are not mapping output).
    expect(r.json.resources.unchanged).toBe(onServer.filter((x) => x.resourceType !== 'Provenance').length);
    const psychotherapy = lines.find((l) => l.kind === 'note' && l.record.kind === 'psychotherapy-note')!.record.id;
    expect(r.json.skipped).toContainEqual({ kind: 'note', recordId: psychotherapy }); // blocked by policy, never mapped
  });

  test('a changed ConceptMap entry shows up as exactly the resources it affects', async () => {
    const root = mkdtempSync(join(tmpdir(), 'remap-mappings-'));
    temps.push(root);
    const dir = join(root, 'mappings');
    cpSync(join(ROOT, 'mappings'), dir, { recursive: true });
    // substance-use: SUD -> ETH (substance abuse information sensitivity). It labels notes and consents' nested deny.
    const file = join(dir, 'conceptmaps', 'sensitivity.json');
    const map = JSON.parse(readFileSync(file, 'utf8'));
    const target = map.group[0].element.find((e: any) => e.code === 'substance-use').target[0];
    Object.assign(target, { code: 'ETH', display: 'substance abuse information sensitivity' });
    writeFileSync(file, JSON.stringify(map));

    const r = await remap('--dry-run', '--json', '--mappings', dir);
    const changed = r.json.changes.filter((c: any) => c.status === 'changed').map((c: any) => `${c.kind}/${c.recordId} ${c.resourceType}`);

    // Expected, from the data alone: records using substance-use where the mapping puts it, that are on the target.
    const store = new SqliteStore(join(tmp.dir, 'collateral.sqlite'));
    const expected: string[] = [];
    for (const l of lines) {
      const uses = l.kind === 'note' ? l.record.sensitivities?.includes('substance-use') : l.kind === 'consent' ? l.record.excludedSensitivities?.includes('substance-use') : false;
      const ledger = await store.ledger.getLedgerForRecord('embedded', l.kind, l.record.id);
      if (uses && ledger.length > 0) {
        expected.push(`${l.kind}/${l.record.id} ${l.kind === 'note' ? 'DocumentReference' : 'Consent'}`);
      }
    }
    await store.close();
    expect(new Set(expected.map((e) => e.split('/')[0]))).toEqual(new Set(['consent', 'note']));
    expect(changed.sort()).toEqual(expected.sort());
    expect(r.json.changes.filter((c: any) => c.issues.length > 0)).toEqual([]);
  });

  test('--diff shows the changed code; without --dry-run the changed records are queued', async () => {
    // A modality of a session that is on the target, and another valid v3-ActCode class for it.
    const store = new SqliteStore(join(tmp.dir, 'collateral.sqlite'));
    const synced: any[] = [];
    for (const l of lines.filter((x) => x.kind === 'session')) {
      if ((await store.ledger.getLedgerForRecord('embedded', 'session', l.record.id)).length > 0) {
        synced.push(l.record);
      }
    }
    await store.close();
    const modality = synced[0].modality as string;
    const map = JSON.parse(readFileSync(join(ROOT, 'mappings', 'conceptmaps', 'session-modality.json'), 'utf8'));
    const element = map.group[0].element.find((e: any) => e.code === modality);
    const [from, to] = [element.target[0].code, element.target[0].code === 'AMB' ? 'HH' : 'AMB'];
    element.target[0].code = to;
    const root = mkdtempSync(join(tmpdir(), 'remap-mappings-'));
    temps.push(root);
    const dir = join(root, 'mappings');
    cpSync(join(ROOT, 'mappings'), dir, { recursive: true });
    writeFileSync(join(dir, 'conceptmaps', 'session-modality.json'), JSON.stringify(map));

    const dry = await remap('--dry-run', '--diff', '--mappings', dir);
    const affected = synced.filter((x) => x.modality === modality).map((x) => x.id);
    const reported = [...dry.out.matchAll(/^CHANGED session (\S+): Encounter /gm)].map((m) => m[1]);
    expect(reported.sort()).toEqual(affected.sort());
    expect(dry.out).toContain(`    /class/code: old "${from}", new "${to}"\n`);
    expect(dry.out).toContain('dry run: nothing queued');

    const queued = await remap('--mappings', dir);
    expect(queued.out).toContain(`${affected.length} records queued for sync`);
    const after = new SqliteStore(join(tmp.dir, 'collateral.sqlite'));
    const due = await after.outbox.claimOutbox('embedded', 100, 1_000);
    await after.close();
    expect(due.filter((e) => e.kind === 'session' && affected.includes(e.recordId)).length).toBeGreaterThan(0);
  });
});
