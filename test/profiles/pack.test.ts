/**
 * The profile pack as a FHIR package: its package.json, one canonical base, every file valid R4,
 * generated files (snapshots, CodeSystem copies, index) up to date, and broken files caught at load
 * with the file and what is wrong.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { OperationOutcomeError } from '../../src/outcomes.js';
import { projectRoot } from '../../src/paths.js';
import { buildProfilePack } from '../../src/profiles/build.js';
import { coreDefinition } from '../../src/profiles/core.js';
import { loadProfiles } from '../../src/profiles/pack.js';
import { buildSnapshot } from '../../src/profiles/snapshot.js';
import { CANONICAL, pack } from './helpers.js';

const DIR = join(projectRoot(), 'profiles');
const temps: string[] = [];
afterAll(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

function copy(): string {
  const root = mkdtempSync(join(tmpdir(), 'profiles-test-'));
  temps.push(root);
  cpSync(DIR, join(root, 'profiles'), { recursive: true });
  return join(root, 'profiles');
}

function loadIssues(dir: string): { expression: string; text: string }[] {
  try {
    loadProfiles({ dir });
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    return ((err as OperationOutcomeError).outcome.issue ?? []).map((i) => ({ expression: i.expression?.[0] ?? '', text: i.details?.text ?? '' }));
  }
  throw new Error('expected loadProfiles to fail');
}

test('package.json: a FHIR R4 package with one canonical base', () => {
  const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8'));
  expect(pkg).toMatchObject({ name: expect.any(String), version: expect.stringMatching(/^\d+\.\d+\.\d+$/), fhirVersions: ['4.0.1'], canonical: CANONICAL });
  expect(pack()).toMatchObject({ name: pkg.name, version: pkg.version, canonical: CANONICAL });
  const urls = [...pack().profiles.map((p) => p.url), ...pack().codeSystems.map((c) => c.url), ...pack().valueSets.map((v) => v.url)];
  expect(urls.every((u) => u?.startsWith(`${CANONICAL}/`))).toBe(true);
});

test('the pack holds the six profiles, our CodeSystems and their ValueSets', () => {
  expect(pack().profiles.map((p) => `${p.name} ${p.type}`).sort()).toEqual([
    'CollateralConsent Consent',
    'CollateralEncounter Encounter',
    'CollateralPractitioner Practitioner',
    'CollateralRelatedPerson RelatedPerson',
    'CollateralSessionNote DocumentReference',
    'SyncProvenance Provenance',
  ]);
  expect(pack().codeSystems.map((c) => c.id).sort()).toEqual(['collateral-data-class', 'collateral-purpose', 'collateral-role', 'mapping-version']);
  expect(pack().valueSets.map((v) => v.id).sort()).toEqual(['collateral-data-class', 'collateral-purpose', 'collateral-relationship', 'collateral-role']);
});

test('generated files are up to date (npm run profiles:build writes nothing new)', () => {
  const stale = buildProfilePack({ write: false }).filter((f) => f.changed).map((f) => f.file);
  expect(stale).toEqual([]);
  const index = JSON.parse(readFileSync(join(DIR, '.index.json'), 'utf8'));
  const files = readdirSync(DIR).filter((f) => /^(StructureDefinition|CodeSystem|ValueSet)-/.test(f));
  expect(index.files.map((f: { filename: string }) => f.filename).sort()).toEqual(files.sort());
});

test('a stale snapshot is found by the build check', () => {
  const dir = copy();
  const file = join(dir, 'StructureDefinition-collateral-encounter.json');
  const sd = JSON.parse(readFileSync(file, 'utf8'));
  sd.differential.element.find((e: { id: string }) => e.id === 'Encounter.serviceType').min = 0;
  writeFileSync(file, JSON.stringify(sd, null, 2));
  const changed = buildProfilePack({ dir, write: false }).filter((f) => f.changed).map((f) => f.file);
  expect(changed).toEqual(['StructureDefinition-collateral-encounter.json']);
});

test('a profile without a snapshot, and a package.json without fhirVersions, fail the load with file and path', () => {
  const dir = copy();
  const file = join(dir, 'StructureDefinition-collateral-consent.json');
  const sd = JSON.parse(readFileSync(file, 'utf8'));
  delete sd.snapshot;
  writeFileSync(file, JSON.stringify(sd));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  delete pkg.fhirVersions;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  writeFileSync(join(dir, 'ValueSet-broken.json'), JSON.stringify({ resourceType: 'ValueSet', url: `${CANONICAL}/ValueSet/broken` }));
  const issues = loadIssues(dir);
  expect(issues).toEqual(
    expect.arrayContaining([
      { expression: '/fhirVersions', text: expect.stringMatching(/package\.json: must list 4\.0\.1/) },
      { expression: '/snapshot', text: expect.stringMatching(/StructureDefinition-collateral-consent\.json: has no snapshot: run `npm run profiles:build`/) },
      { expression: 'ValueSet.status', text: expect.stringMatching(/\/profiles\/ValueSet-broken\.json: Missing required property/) },
    ])
  );
});

describe('snapshot generation', () => {
  const base = (): StructureDefinition => JSON.parse(readFileSync(join(DIR, 'StructureDefinition-collateral-encounter.json'), 'utf8'));

  test('a profile may narrow the base, never widen it', () => {
    const sd = base();
    sd.differential!.element.push({ id: 'Encounter.status', path: 'Encounter.status', min: 0 });
    expect(() => buildSnapshot(sd, coreDefinition)).toThrow(/Encounter\.status 0\.\.1 is not within the base 1\.\.1/);
  });

  test('an element the base does not have is named', () => {
    const sd = base();
    sd.differential!.element.push({ id: 'Encounter.period.middle', path: 'Encounter.period.middle', min: 1 });
    expect(() => buildSnapshot(sd, coreDefinition)).toThrow(/no element Encounter\.period\.middle/);
  });

  test('a slice needs its element to declare slicing first', () => {
    const sd = base();
    sd.differential!.element.push({ id: 'Encounter.reasonCode:purpose', path: 'Encounter.reasonCode', sliceName: 'purpose', min: 1 });
    expect(() => buildSnapshot(sd, coreDefinition)).toThrow(/slice Encounter\.reasonCode:purpose needs Encounter\.reasonCode to declare slicing first/);
  });

  test('datatypes are expanded under the element, without medplum-only Meta elements', () => {
    const elements = buildSnapshot(base(), coreDefinition);
    const meta = elements.filter((e) => e.id?.startsWith('Encounter.meta.') && !e.id.includes(':')).map((e) => e.id);
    expect(meta).toEqual(['id', 'extension', 'versionId', 'lastUpdated', 'source', 'profile', 'security', 'tag'].map((n) => `Encounter.meta.${n}`));
    const slice = elements.findIndex((e) => e.id === 'Encounter.identifier:session');
    expect(elements[slice]).toMatchObject({ sliceName: 'session', min: 1, max: '1', path: 'Encounter.identifier' });
    expect(elements[slice + 5]).toMatchObject({ id: 'Encounter.identifier:session.system', path: 'Encounter.identifier.system', patternUri: `${CANONICAL}/sid/session`, base: { path: 'Identifier.system' } });
  });
});
