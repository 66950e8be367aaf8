/**
 * The workbench commands, run in-process with captured output (and once as the real built CLI):
 * map, validate, test-mappings and build-profiles, their exit codes and their messages.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { memoryIo } from '../../src/cli/io.js';
import { runWorkbenchCommand } from '../../src/cli/workbench.js';
import { projectRoot } from '../../src/paths.js';
import { buildService } from '../helpers/built-service.js';

const ROOT = projectRoot();
const EXAMPLES = join(ROOT, 'examples', 'records.ndjson');
const ENV = { DATA_DIR: tmpdir() };
const temps: string[] = [];
afterAll(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

async function run(argv: string[], files: Record<string, string> = {}): Promise<{ code: number | undefined; out: string; err: string; json: any }> {
  const io = memoryIo(files, ENV);
  const code = await runWorkbenchCommand(argv, io);
  let json: unknown;
  try {
    json = JSON.parse(io.stdout());
  } catch {
    json = undefined;
  }
  return { code, out: io.stdout(), err: io.stderr(), json };
}

const lines = readFileSync(EXAMPLES, 'utf8').split('\n').filter((l) => l.trim());
const line = (id: string): any => JSON.parse(lines.find((l) => l.includes(`"id":"${id}"`)) as string);

describe('map', () => {
  test('the example dataset: every record valid except the psychotherapy note, refused at its /record/kind', async () => {
    const r = await run(['map', EXAMPLES]);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ records: 44, valid: 43, invalid: 0, rejected: 1 });
    const refused = r.json.results.find((x: any) => x.status === 'rejected');
    expect(refused).toMatchObject({ kind: 'note', outcome: { id: 'transform-failed' } });
    expect(refused.outcome.issue[0]).toMatchObject({ expression: ['/record/kind'], details: { text: expect.stringMatching(/^line \d+: HIPAA psychotherapy notes never leave/) } });
    const session = r.json.results.find((x: any) => x.kind === 'session');
    expect(session.resources[0]).toMatchObject({ resourceType: 'Encounter', valid: true, issues: [], profile: 'https://fhir.example-practice.org/StructureDefinition/collateral-encounter' });
    expect(session.resources[0].resource.meta.tag[0].code).toMatch(/^session\.v1@/);
  });

  test('one bare record needs --kind; with it, its resources; a bad one lists every problem with its JSON path', async () => {
    const mother = JSON.stringify(line('p-1001-mother').record);
    expect((await run(['map', 'p.json'], { 'p.json': mother })).json.results[0].outcome.issue[0].details.text).toContain('needs its kind');
    const ok = await run(['map', 'p.json', '--kind', 'participant'], { 'p.json': mother });
    expect(ok.code).toBe(0);
    expect(ok.json.results[0].resources[0].key).toBe('https://fhir.example-practice.org/sid/collateral-contact|p-1001-mother:MRN-1001');
    const bad = await run(['map', 's.json', '--kind', 'session'], { 's.json': JSON.stringify({ id: 's-x', type: 'group', client: {} }) });
    expect(bad.code).toBe(1);
    expect(bad.json.results[0].outcome.issue.map((i: any) => i.expression[0])).toEqual(expect.arrayContaining(['/type', '/client/mrn', '/start']));
  });

  test('one {"kind","record"} object, pretty-printed over several lines, is one record', async () => {
    const r = await run(['map', 'one.json'], { 'one.json': JSON.stringify(line('p-1001-father'), null, 2) });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ records: 1, valid: 1, results: [{ line: 1, kind: 'participant', id: 'p-1001-father' }] });
  });

  test('a session whose participant is not in the file is refused with the path of the reference', async () => {
    const r = await run(['map', 'x.ndjson', '--text'], { 'x.ndjson': JSON.stringify(line('s-1001-01')) });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/line 1 session s-1001-01: REJECTED\n\s+\/record\/participants\/0\/participantId: line 1: participant p-1001-mother is not among the participants/);
  });

  test('unknown options and kinds are usage errors (exit 2)', async () => {
    expect((await run(['map', EXAMPLES, '--knd', 'note'])).code).toBe(2);
    expect((await run(['map', EXAMPLES, '--kind', 'memo'])).code).toBe(2);
    expect(await run(['frobnicate'])).toMatchObject({ code: undefined });
  });
});

describe('validate', () => {
  async function mapped(id: string): Promise<any> {
    const r = await run(['map', EXAMPLES]);
    return r.json.results.find((x: any) => x.id === id).resources[0].resource;
  }

  test('a valid resource, and a Bundle with a broken entry: every issue with its FHIR path and what was expected', async () => {
    const enc = await mapped('s-1001-01');
    expect((await run(['validate', 'e.json'], { 'e.json': JSON.stringify(enc) })).code).toBe(0);
    const broken = { ...enc, class: { system: 'urn:local', code: 'AMB' }, identifier: [] };
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: enc }, { resource: broken }] };
    const r = await run(['validate', 'b.json', '--text'], { 'b.json': JSON.stringify(bundle) });
    expect(r.code).toBe(1);
    expect(r.out).toContain('entry 0 Encounter: valid [https://fhir.example-practice.org/StructureDefinition/collateral-encounter]');
    expect(r.out).toContain('entry 1 Encounter: INVALID');
    expect(r.out).toContain('error Encounter.class: Value did not match expected pattern: expected a Coding from http://terminology.hl7.org/CodeSystem/v3-ActCode (CollateralEncounter)');
    expect(r.out).toContain('error Encounter.identifier: Missing required property: Identifier(s) by which this encounter is known (CollateralEncounter)');
    expect(r.out).toContain('2 resources: 1 valid, 1 invalid');
  });

  test('--profile, and a file that is not FHIR', async () => {
    const rp = await mapped('p-1001-mother');
    const r = await run(['validate', 'r.json', '--profile', 'https://fhir.example-practice.org/StructureDefinition/collateral-consent'], { 'r.json': JSON.stringify(rp) });
    expect(r.json.results[0].issues[0].details.text).toBe('CollateralConsent constrains Consent, not RelatedPerson');
    expect((await run(['validate', 'x.json'], { 'x.json': '{"hello": 1}' })).err).toContain('no resourceType');
  });
});

describe('test-mappings', () => {
  test('the golden cases pass', async () => {
    const r = await run(['test-mappings']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+ cases in \d+ files: \d+ passed, 0 failed\n$/);
  });

  test('a wrong golden and a broken case file fail with a diff and the file and path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-cases-'));
    temps.push(dir);
    cpSync(join(ROOT, 'test', 'mapping-cases'), dir, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    const file = join(dir, 'session.v1', 'modality-and-status.json');
    const suite = JSON.parse(readFileSync(file, 'utf8'));
    suite.cases[0].expect[0].class.code = 'VR';
    writeFileSync(file, JSON.stringify(suite));
    writeFileSync(join(dir, 'note.v1', 'broken.json'), JSON.stringify({ title: 't', mapping: 'note.v1', cases: [{ title: 'no expectation' }] }));
    const r = await run(['test-mappings', '--cases', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`FAIL ${file} #0 modality in-person`);
    expect(r.out).toContain('/0/class/code: expected "VR", actual "AMB"');
    expect(r.err).toMatch(/BROKEN .*note\.v1\/broken\.json\n {2}\/cases\/0: missing 'expect'\n {2}\/cases\/0: missing 'expectError'/);
  });

  test('a broken mapping file: the file and the path, exit 1', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cli-mappings-'));
    temps.push(root);
    cpSync(join(ROOT, 'mappings'), join(root, 'mappings'), { recursive: true });
    const file = join(root, 'mappings', 'session.v1.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"$map": "session-modality"', '"$map": "session-modalty"'));
    const r = await run(['test-mappings', '--mappings', join(root, 'mappings')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\/resources\/0\/template\/class\/\$map: mappings\/session\.v1\.json: no ConceptMap 'session-modalty'/);
  });
});

test('build-profiles --check: the committed pack is up to date', async () => {
  const r = await run(['build-profiles', '--check']);
  // The count grows with the pack; what matters is that none is out of date.
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^\d+ generated files, 0 out of date\n$/);
});

test('the built CLI, as a real process: help lists the workbench, test-mappings exits 0', async () => {
  const main = buildService('cli-test').replace(/main\.js$/, join('cli', 'main.js'));
  const exec = promisify(execFile);
  // Without a command the CLI prints its usage and exits 2.
  const help = await exec(process.execPath, [main]).catch((e: { code: number; stdout: string }) => e);
  expect(help).toMatchObject({ code: 2, stdout: expect.stringContaining('test-mappings') });
  const cases = await exec(process.execPath, [main, 'test-mappings'], { cwd: ROOT });
  expect(cases.stdout).toMatch(/cases in \d+ files: \d+ passed, 0 failed/);
  const mapped = execFileSync(process.execPath, [main, 'map', '-', '--kind', 'participant'], { input: JSON.stringify(line('p-1001-mother').record), env: { ...process.env, ...ENV } });
  expect(JSON.parse(mapped.toString())).toMatchObject({ records: 1, valid: 1 });
}, 120_000);
