import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { RECORD_KINDS } from '../../src/domain/records.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { loadMappings } from '../../src/mapping/index.js';
import { OperationOutcomeError } from '../../src/outcomes.js';
import { projectRoot } from '../../src/paths.js';

const SOURCE = join(projectRoot(), 'mappings');
const temps: string[] = [];

/** A scratch copy of mappings/, named `mappings` inside a temp dir so messages read mappings/<file>. */
function copy(): string {
  const root = mkdtempSync(join(tmpdir(), 'mapping-test-'));
  temps.push(root);
  const dir = join(root, 'mappings');
  cpSync(SOURCE, dir, { recursive: true });
  return dir;
}

function edit(dir: string, file: string, change: (json: any) => void): void {
  const path = join(dir, file);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  change(json);
  writeFileSync(path, JSON.stringify(json));
}

/** The issues of a failed load, as `expression: text`. */
function loadIssues(dir: string): { expression: string; text: string }[] {
  try {
    loadMappings(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    const outcome = (err as OperationOutcomeError).outcome;
    expect(outcome.id).toBe('mapping-invalid');
    return (outcome.issue ?? []).map((i) => {
      expect(i).toMatchObject({ severity: 'error', code: 'structure' });
      return { expression: i.expression?.[0] ?? '', text: i.details?.text ?? '' };
    });
  }
  throw new Error('expected loadMappings to fail');
}

afterAll(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

describe('loadMappings', () => {
  test('loads one mapping per kind, with semver versions', () => {
    const set = loadMappings();
    for (const kind of RECORD_KINDS) {
      const m = set.get(kind);
      expect(m).toMatchObject({ id: `${kind}.v1`, kind, file: `mappings/${kind}.v1.json` });
      expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
    }
    expect(set.conceptMaps.ids().length).toBeGreaterThanOrEqual(14);
  });

  test.each(['conceptmaps', 'codesystems'])('every file in mappings/%s is valid FHIR R4', (folder) => {
    loadFhirDefinitions();
    const files = readdirSync(join(SOURCE, folder)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const resource = JSON.parse(readFileSync(join(SOURCE, folder, file), 'utf8')) as Resource;
      expect(resource.id).toBe(basename(file, '.json'));
      expect(validateResource(resource)).toEqual([]);
    }
  });

  test('a broken mapping file: the file and the JSON path of every problem', () => {
    const dir = copy();
    edit(dir, 'session.v1.json', (m) => {
      delete m.version;
      m.resources[0].write = 'overwrite';
      m.resources[0].template.status = { $tranlsate: 'status', $map: 'session-status', $to: 'code' };
      m.resources[0].template.class.$to = 'Codings';
    });
    const issues = loadIssues(dir);
    expect(issues.every((i) => i.text.startsWith('mappings/session.v1.json: '))).toBe(true);
    expect(issues.map((i) => i.expression)).toEqual(
      expect.arrayContaining([
        '/',
        '/resources/0/write',
        '/resources/0/template/status/$tranlsate',
        '/resources/0/template/class/$to',
      ])
    );
    expect(issues.find((i) => i.expression === '/')?.text).toContain("missing 'version'");
  });

  test('a bad FHIRPath expression is reported with its path', () => {
    const dir = copy();
    edit(dir, 'note.v1.json', (m) => {
      m.reject[0].if = "kind = = 'psychotherapy-note'";
      m.resources[0].template.date = '{{ signedAt.frobnicate() }}';
      m.resources[0].template.content[0].attachment.title = 'Note {{ %nope }}';
    });
    const issues = loadIssues(dir);
    expect(issues).toEqual([
      { expression: '/reject/0/if', text: expect.stringMatching(/^mappings\/note\.v1\.json: invalid FHIRPath 'kind = = /) },
      { expression: '/resources/0/template/date', text: expect.stringContaining('Unrecognized function: frobnicate') },
      { expression: '/resources/0/template/content/0/attachment/title', text: expect.stringContaining('Undefined variable %nope') },
    ]);
  });

  test('a variable is only in scope where it is bound', () => {
    const dir = copy();
    edit(dir, 'session.v1.json', (m) => {
      m.resources[0].template.period.start = '{{ %sp.participantId }}';
    });
    expect(loadIssues(dir)).toEqual([
      { expression: '/resources/0/template/period/start', text: expect.stringContaining('Undefined variable %sp') },
    ]);
  });

  test('an unknown ConceptMap or target system is reported where it is named', () => {
    const dir = copy();
    edit(dir, 'session.v1.json', (m) => {
      m.resources[0].template.status.$map = 'session-state';
      m.resources[0].template.type[0].$target = 'http://www.ama-assn.org/go/cpt4';
    });
    expect(loadIssues(dir).map((i) => i.expression)).toEqual(['/resources/0/template/status/$map', '/resources/0/template/type/0/$target']);
  });

  test('a file that is not JSON', () => {
    const dir = copy();
    writeFileSync(join(dir, 'consent.v1.json'), '{ "id": "consent.v1", ');
    expect(loadIssues(dir)).toEqual([{ expression: '', text: expect.stringMatching(/^mappings\/consent\.v1\.json: not valid JSON/) }]);
  });

  test('an invalid ConceptMap fails FHIR validation, naming the file', () => {
    const dir = copy();
    edit(dir, 'conceptmaps/session-status.json', (cm) => {
      delete cm.status;
    });
    const issues = loadIssues(dir);
    expect(issues).toEqual([{ expression: 'ConceptMap.status', text: expect.stringContaining('mappings/conceptmaps/session-status.json: ') }]);
  });

  test('a ConceptMap target missing from our CodeSystem', () => {
    const dir = copy();
    edit(dir, 'conceptmaps/session-purpose.json', (cm) => {
      cm.group[0].element[0].target[0].code = 'info-gathering';
    });
    expect(loadIssues(dir)).toEqual([
      { expression: '/group/0/element/0/target/0/code', text: expect.stringContaining("'info-gathering' is not defined") },
    ]);
  });

  test('every kind needs exactly one mapping, named after its id', () => {
    const dir = copy();
    unlinkSync(join(dir, 'note.v1.json'));
    expect(loadIssues(dir)).toEqual([{ expression: '', text: "mappings: no mapping file for kind 'note'" }]);
    const other = copy();
    edit(other, 'note.v1.json', (m) => {
      m.id = 'note.v2';
    });
    expect(loadIssues(other)).toEqual(
      expect.arrayContaining([{ expression: '/id', text: expect.stringContaining('must be named note.v2.json') }])
    );
  });
});
