/**
 * The profile pack (profiles/, a FHIR package): read and checked once, each profile compiled once for
 * validation. The pack is authored under the placeholder namespace https://fhir.example-practice.org,
 * like mappings/: identifier systems (`/sid/...`) and our code systems (`/CodeSystem/...`) in its
 * constraints follow the deployment's namespace, so a deployment with its own IDENTIFIER_NAMESPACE
 * validates its own identifiers. Canonical URLs of the profiles themselves never change.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { validateResource } from '@medplum/core';
import type { CodeSystem, ElementDefinition, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { PRACTICE_NAMESPACE } from '../mapping/conceptmap.js';
import { mappingInvalid, OperationOutcomeError, type Problem } from '../outcomes.js';
import { projectRoot } from '../paths.js';
import { compileProfile, type RootConstraint } from './compile.js';

/** One profile of the pack, ready to validate against. */
export interface LoadedProfile {
  url: string;
  name: string;
  /** The resource type it constrains. */
  type: string;
  version: string;
  /** The file it came from, relative to the project (for messages). */
  file: string;
  /** Snapshot elements, namespace applied (to explain issues). */
  elements: ElementDefinition[];
  typeName: string;
  rootConstraints: RootConstraint[];
}

/** The loaded pack. */
export interface ProfilePack {
  /** package.json name and version. */
  name: string;
  version: string;
  /** The one canonical base URL of everything in the pack. */
  canonical: string;
  /** The identifier namespace the constraints were rewritten to. */
  ns: string;
  profiles: readonly LoadedProfile[];
  codeSystems: readonly CodeSystem[];
  valueSets: readonly ValueSet[];
  get(url: string): LoadedProfile | undefined;
}

interface PackageJson {
  name?: string;
  version?: string;
  fhirVersions?: string[];
  canonical?: string;
}

const cache = new Map<string, ProfilePack>();

/**
 * Loads the profile pack (once per directory and namespace; later calls return the same pack).
 * @param options - `dir`: the pack (default `<project>/profiles`); `ns`: the identifier namespace.
 * @returns The pack.
 * @throws OperationOutcomeError(mappingInvalid) naming each broken file and what is wrong.
 */
export function loadProfiles(options: { dir?: string; ns?: string } = {}): ProfilePack {
  const dir = options.dir ?? join(projectRoot(), 'profiles');
  const ns = (options.ns ?? PRACTICE_NAMESPACE).replace(/\/+$/, '');
  const key = `${dir}\n${ns}`;
  const cached = cache.get(key);
  if (cached) {
    return cached;
  }
  loadFhirDefinitions();
  // Project files by their project path (profiles/...), anything elsewhere by its full path.
  const name = (file: string): string => (relative(projectRoot(), file).startsWith('..') ? file : relative(projectRoot(), file));
  const failures: { file: string; problems: Problem[] }[] = [];
  const pkgFile = join(dir, 'package.json');
  const pkg = readPackage(pkgFile, failures, name);
  const resources = readResources(dir, failures, name);
  const profiles: LoadedProfile[] = [];
  for (const { file, resource } of resources) {
    if (resource.resourceType !== 'StructureDefinition') {
      continue;
    }
    const problems = profileProblems(resource, pkg.canonical ?? '');
    if (problems.length > 0) {
      failures.push({ file, problems });
      continue;
    }
    const local = withNamespace(resource, ns);
    const compiled = compileProfile(local);
    profiles.push({
      url: local.url,
      name: local.name,
      type: local.type,
      version: local.version ?? '',
      file,
      elements: local.snapshot?.element ?? [],
      ...compiled,
    });
  }
  if (failures.length > 0) {
    const outcomes = failures.map((f) => mappingInvalid(f.file, f.problems));
    throw new OperationOutcomeError({ ...outcomes[0], issue: outcomes.flatMap((o) => o.issue ?? []) });
  }
  const byUrl = new Map(profiles.map((p) => [p.url, p]));
  const pack: ProfilePack = {
    name: pkg.name ?? '',
    version: pkg.version ?? '',
    canonical: pkg.canonical ?? '',
    ns,
    profiles,
    codeSystems: resources.map((r) => r.resource).filter((r): r is CodeSystem => r.resourceType === 'CodeSystem'),
    valueSets: resources.map((r) => r.resource).filter((r): r is ValueSet => r.resourceType === 'ValueSet'),
    get: (url) => byUrl.get(url.split('|')[0]),
  };
  cache.set(key, pack);
  return pack;
}

function readPackage(file: string, failures: { file: string; problems: Problem[] }[], name: (f: string) => string): PackageJson {
  const problems: Problem[] = [];
  let pkg: PackageJson = {};
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (err) {
    failures.push({ file: name(file), problems: [{ path: '', message: `cannot read: ${err instanceof Error ? err.message : String(err)}` }] });
    return pkg;
  }
  for (const key of ['name', 'version', 'canonical'] as const) {
    if (typeof pkg[key] !== 'string' || !pkg[key]) {
      problems.push({ path: `/${key}`, message: 'is required (a FHIR package names itself, its version and its canonical base)' });
    }
  }
  if (!pkg.fhirVersions?.includes('4.0.1')) {
    problems.push({ path: '/fhirVersions', message: 'must list 4.0.1 (FHIR R4)' });
  }
  if (problems.length > 0) {
    failures.push({ file: name(file), problems });
  }
  return pkg;
}

function readResources(
  dir: string,
  failures: { file: string; problems: Problem[] }[],
  name: (f: string) => string
): { file: string; resource: Resource & { url?: string } }[] {
  const out: { file: string; resource: Resource & { url?: string } }[] = [];
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^(StructureDefinition|CodeSystem|ValueSet)-.+\.json$/.test(f)) : [];
  for (const f of files.sort()) {
    const file = join(dir, f);
    try {
      const resource = JSON.parse(readFileSync(file, 'utf8')) as Resource & { url?: string };
      const problems = fhirProblems(resource);
      if (problems.length > 0) {
        failures.push({ file: name(file), problems });
      } else {
        out.push({ file: name(file), resource });
      }
    } catch (err) {
      failures.push({ file: name(file), problems: [{ path: '', message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` }] });
    }
  }
  return out;
}

/** Valid FHIR R4 (medplum's validator, invariants included). */
function fhirProblems(resource: Resource): Problem[] {
  try {
    validateResource(resource);
    return [];
  } catch (err) {
    const issues = err instanceof OperationOutcomeError ? (err.outcome.issue ?? []) : [];
    return issues.map((i) => ({ path: i.expression?.[0] ?? '', message: i.details?.text ?? 'invalid' }));
  }
}

function profileProblems(sd: StructureDefinition, canonical: string): Problem[] {
  const problems: Problem[] = [];
  if (!sd.snapshot?.element?.length) {
    problems.push({ path: '/snapshot', message: 'has no snapshot: run `npm run profiles:build` (profiles/README.md)' });
  }
  if (!canonical || !sd.url?.startsWith(`${canonical}/StructureDefinition/`)) {
    problems.push({ path: '/url', message: `must be ${canonical}/StructureDefinition/<id> (the pack's one canonical base)` });
  }
  if (sd.derivation !== 'constraint' || sd.kind !== 'resource') {
    problems.push({ path: '/derivation', message: 'must be a constraint on a resource' });
  }
  return problems;
}

/** The profile with `/sid/` and `/CodeSystem/` URLs of the placeholder namespace moved to `ns`. */
function withNamespace(sd: StructureDefinition, ns: string): StructureDefinition {
  if (ns === PRACTICE_NAMESPACE) {
    return sd;
  }
  const text = JSON.stringify(sd.snapshot).replace(
    new RegExp(`${escape(PRACTICE_NAMESPACE)}/(sid|CodeSystem)/`, 'g'),
    (_m, kind: string) => `${ns}/${kind}/`
  );
  return { ...sd, snapshot: JSON.parse(text) as StructureDefinition['snapshot'] };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
