/**
 * Regenerates the generated parts of the profile pack (profiles/): each StructureDefinition's snapshot
 * from its differential, the copies of our CodeSystems from mappings/codesystems (one source of
 * truth), and the package index `.index.json`. Run by `npm run profiles:build`; `--check` (CI and
 * test/profiles) fails when a committed file differs from what this would write.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStructureDefinition, validateResource } from '@medplum/core';
import type { CodeSystem, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { projectRoot } from '../paths.js';
import { coreDefinition } from './core.js';
import { buildSnapshot } from './snapshot.js';

/** A file the build produces and whether it differs from the one on disk. */
export interface BuiltFile {
  /** File name inside the pack. */
  file: string;
  changed: boolean;
  content: string;
}

/**
 * Computes (and with `write`, writes) every generated file of the pack.
 * @param options - `dir`: the pack; `codeSystemsDir`: our CodeSystems; `write`: write changed files.
 * @returns Every generated file, flagged when it differs from disk.
 * @throws Error naming the profile and element when a differential cannot be applied or the result is invalid.
 */
export function buildProfilePack(options: { dir?: string; codeSystemsDir?: string; write?: boolean } = {}): BuiltFile[] {
  loadFhirDefinitions();
  const dir = options.dir ?? join(projectRoot(), 'profiles');
  const csDir = options.codeSystemsDir ?? join(projectRoot(), 'mappings', 'codesystems');
  const out: { file: string; resource: Resource }[] = [];
  for (const file of jsonFiles(dir).filter((f) => f.startsWith('StructureDefinition-'))) {
    const sd = readJson(join(dir, file)) as StructureDefinition;
    const { snapshot: _old, ...rest } = sd;
    const built: StructureDefinition = { ...rest, snapshot: { element: buildSnapshot(sd, coreDefinition) } };
    check(file, built);
    out.push({ file, resource: built });
  }
  for (const file of jsonFiles(csDir)) {
    const cs = readJson(join(csDir, file)) as CodeSystem;
    out.push({ file: `CodeSystem-${cs.id}.json`, resource: cs });
  }
  const others = jsonFiles(dir)
    .filter((f) => /^(CodeSystem|ValueSet)-/.test(f) && !out.some((o) => o.file === f))
    .map((file) => ({ file, resource: readJson(join(dir, file)) as Resource }));
  const files: BuiltFile[] = out.map(({ file, resource }) => compare(dir, file, json(resource)));
  files.push(compare(dir, '.index.json', json(packageIndex([...out, ...others]))));
  if (options.write) {
    for (const f of files.filter((f) => f.changed)) {
      writeFileSync(join(dir, f.file), f.content);
    }
  }
  return files;
}

/** The built profile must be valid R4 and parse in medplum. */
function check(file: string, sd: StructureDefinition): void {
  try {
    validateResource(sd);
    parseStructureDefinition(sd);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome?.issue;
    const text = issues ? issues.map((i) => `${i.expression?.[0]}: ${i.details?.text}`).join('; ') : String(err);
    throw new Error(`${file}: the built profile is not valid: ${text}`);
  }
}

/** The FHIR package index. See: https://confluence.hl7.org/display/FHIR/NPM+Package+Specification */
function packageIndex(files: { file: string; resource: Resource }[]): object {
  return {
    'index-version': 1,
    files: files
      .map(({ file, resource }) => {
        const r = resource as Resource & { url?: string; version?: string; kind?: string; type?: string };
        return { filename: file, resourceType: r.resourceType, id: r.id, url: r.url, version: r.version, kind: r.kind, type: r.type };
      })
      .sort((a, b) => (a.filename < b.filename ? -1 : 1)),
  };
}

function compare(dir: string, file: string, content: string): BuiltFile {
  const path = join(dir, file);
  return { file, content, changed: !existsSync(path) || readFileSync(path, 'utf8') !== content };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function jsonFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'package.json').sort() : [];
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}
