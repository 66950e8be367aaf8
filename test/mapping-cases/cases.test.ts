/**
 * The golden mapping cases (test/mapping-cases/<mapping id>/*.json), discovered from the folder: every
 * file passes mapping-cases.schema.json, every case gives exactly its expected resources (valid
 * against their profiles) or its expected error, and together they cover every coded value of the
 * inbound contract. Adding a case is adding JSON; see mappings/README.md.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappings } from '../../src/mapping/index.js';
import { projectRoot } from '../../src/paths.js';
import { loadProfiles } from '../../src/profiles/pack.js';
import { caseInput, loadCaseFiles, runCase, type CaseFile } from '../../src/profiles/workbench/cases.js';

const mappings = loadMappings();
const packFor = (ns: string) => loadProfiles({ ns });
const { files, problems } = loadCaseFiles();

test('every case file passes its schema and sits in its mapping folder', () => {
  expect(problems).toEqual([]);
  expect(new Set(files.map((f) => f.suite.mapping))).toEqual(new Set(mappings.mappings.map((m) => m.id)));
});

describe.each(files.map((f) => [f.file, f] as const))('%s', (_file, file) => {
  test.each(file.suite.cases.map((c, i) => [c.title, i] as const))('%s', (_title, i) => {
    const run = runCase(file, i, mappings, packFor);
    expect(run.failures).toEqual([]);
  });
});

describe('coverage of the inbound contract by the cases', () => {
  const inputs = (mapping: string): Record<string, any>[] =>
    files.filter((f) => f.suite.mapping === mapping).flatMap((f) => f.suite.cases.map((c) => caseInput(f.suite, c)));
  const schemaEnum = (kind: string, pointer: string[]): string[] => {
    let node = JSON.parse(readFileSync(join(projectRoot(), 'schemas', 'inbound', `${kind}.schema.json`), 'utf8'));
    for (const key of pointer) {
      node = node[key];
    }
    return node.enum;
  };
  const common = JSON.parse(readFileSync(join(projectRoot(), 'schemas', 'inbound', 'common.schema.json'), 'utf8'));
  const sensitivities: string[] = common.$defs.sensitivity.enum;

  test.each([
    ['participant.v1', 'relationship', schemaEnum('participant', ['properties', 'relationship'])],
    ['consent.v1', 'status', schemaEnum('consent', ['properties', 'status'])],
    ['consent.v1', 'legalBasis', [...schemaEnum('consent', ['properties', 'legalBasis']), undefined]],
    ['session.v1', 'type', schemaEnum('session', ['properties', 'type'])],
    ['session.v1', 'modality', schemaEnum('session', ['properties', 'modality'])],
    ['session.v1', 'status', schemaEnum('session', ['properties', 'status'])],
    ['note.v1', 'kind', schemaEnum('note', ['properties', 'kind'])],
    ['note.v1', 'status', schemaEnum('note', ['properties', 'status'])],
  ])('%s: every %s', (mapping, field, values) => {
    const seen = new Set(inputs(mapping).map((r) => r[field]));
    expect(values.filter((v) => !seen.has(v))).toEqual([]);
  });

  test('every session type with the client present, absent and not said', () => {
    const seen = new Set(inputs('session.v1').map((r) => `${r.type}|${r.clientPresent}`));
    const missing = schemaEnum('session', ['properties', 'type']).flatMap((t) => ['true', 'false', 'undefined'].map((p) => `${t}|${p}`)).filter((k) => !seen.has(k));
    expect(missing).toEqual([]);
  });

  test('every consent data class', () => {
    const classes = schemaEnum('consent', ['properties', 'dataClasses', 'items']);
    expect(classes.length).toBeGreaterThan(0);
    const seen = new Set(inputs('consent.v1').flatMap((r) => r.dataClasses ?? []));
    expect(classes.filter((c) => !seen.has(c))).toEqual([]);
  });

  test('every sensitivity on its own, and amendments', () => {
    expect(sensitivities?.length).toBeGreaterThan(0);
    const single = new Set(inputs('note.v1').filter((r) => r.sensitivities?.length === 1).map((r) => r.sensitivities[0]));
    expect(sensitivities.filter((s) => !single.has(s))).toEqual([]);
    expect(inputs('note.v1').some((r) => r.amends)).toBe(true);
  });
});

describe('a broken case file is caught with its file and path', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cases-test-'));
    cpSync(join(projectRoot(), 'test', 'mapping-cases'), root, { recursive: true, filter: (src) => !src.endsWith('.ts') });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('schema problems name the file and the JSON path', () => {
    const file = join(root, 'session.v1', 'details.json');
    const suite = JSON.parse(readFileSync(file, 'utf8'));
    suite.cases[0].expectt = suite.cases[0].expect;
    delete suite.cases[0].expect;
    suite.cases[1].expectError = { outcome: 'exploded', issues: [] };
    writeFileSync(file, JSON.stringify(suite));
    writeFileSync(join(root, 'note.v1', 'not-json.json'), '{ "title": ');
    const found = loadCaseFiles(root).problems;
    expect(found.map((p) => p.file)).toEqual([expect.stringMatching(/note\.v1\/not-json\.json$/), expect.stringMatching(/session\.v1\/details\.json$/)]);
    expect(found[0].problems).toEqual([{ path: '', message: expect.stringContaining('not valid JSON') }]);
    expect(found[1].problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/cases/0/expectt', '/cases/1/expectError/outcome', '/cases/1/expectError/issues']));
  });

  test('a case file in the wrong folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cases-test-'));
    cpSync(join(root, 'mapping-cases.schema.json'), join(dir, 'mapping-cases.schema.json'));
    cpSync(join(root, 'consent.v1'), join(dir, 'session.v1'), { recursive: true });
    const found = loadCaseFiles(dir).problems;
    rmSync(dir, { recursive: true, force: true });
    expect(found[0].problems).toEqual([{ path: '/mapping', message: "'consent.v1' must match its folder test/mapping-cases/session.v1/" }]);
  });

  test('a wrong golden fails with a readable diff', () => {
    const file: CaseFile = files.find((f) => f.suite.mapping === 'session.v1')!;
    const copy: CaseFile = { ...file, suite: structuredClone(file.suite) };
    const index = copy.suite.cases.findIndex((c) => c.expect);
    (copy.suite.cases[index].expect![0] as any).status = 'planned';
    expect(runCase(copy, index, mappings, packFor).failures).toEqual([
      'the output differs from the golden resources:',
      '  /0/status: expected "planned", actual "finished"',
    ]);
  });
});
