/**
 * loadMappings: reads mappings/ once (mapping files, ConceptMaps, practice CodeSystems), checks all of
 * it and fails with every problem of every file, so a broken mapping stops startup instead of
 * surfacing record by record.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { validateResource } from '@medplum/core';
import type { CodeSystem, ConceptMap, OperationOutcome } from '@medplum/fhirtypes';
import type { ValidateFunction } from 'ajv';
import { RECORD_KINDS, type RecordKind } from '../domain/records.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { mappingInvalid, OperationOutcomeError, type Problem } from '../outcomes.js';
import { projectRoot } from '../paths.js';
import { compileMapping } from './compile.js';
import { ConceptMapIndex } from './conceptmap.js';
import { compileMappingSchema, schemaProblems } from './schema.js';
import { checkTerminology, type Loaded } from './terminology.js';
import type { LoadedMapping, MappingFile, MappingSet } from './types.js';

/** Problems found in one file. */
interface Failure {
  file: string;
  problems: Problem[];
}

/**
 * Loads and checks every mapping under a directory.
 * @param dir - The mappings directory; default `<project root>/mappings`.
 * @returns The mappings, one per record kind, and the ConceptMaps.
 * @throws OperationOutcomeError(mappingInvalid) naming each broken file and the JSON path of each problem.
 */
export function loadMappings(dir: string = join(projectRoot(), 'mappings')): MappingSet {
  loadFhirDefinitions();
  const failures: Failure[] = [];
  const name = (file: string): string => relative(dirname(dir), file);
  const codeSystems = loadResources<CodeSystem>(join(dir, 'codesystems'), 'CodeSystem', name, failures);
  const conceptMaps = loadResources<ConceptMap>(join(dir, 'conceptmaps'), 'ConceptMap', name, failures);
  failures.push(...checkTerminology(conceptMaps, codeSystems));
  const index = new ConceptMapIndex(conceptMaps.map((m) => m.resource));

  const mappings: LoadedMapping[] = [];
  const schemaFile = join(dir, 'mapping.schema.json');
  let validate: ValidateFunction;
  try {
    validate = compileMappingSchema(schemaFile);
  } catch (err) {
    failures.push({ file: name(schemaFile), problems: [{ path: '', message: `cannot compile: ${errorText(err)}` }] });
    throw new OperationOutcomeError(combine(failures));
  }
  let broken = false;
  for (const file of jsonFiles(dir).filter((f) => f !== schemaFile)) {
    const loaded = loadMappingFile(file, validate, index);
    if ('problems' in loaded) {
      broken = true;
      failures.push({ file: name(file), problems: loaded.problems });
    } else {
      mappings.push({ ...loaded, file: name(file) });
    }
  }
  // A broken file's kind is unknown: only judge coverage when every mapping file loaded.
  const coverage = broken ? [] : kindProblems(mappings);
  if (coverage.length > 0) {
    failures.push({ file: name(dir), problems: coverage });
  }
  if (failures.length > 0) {
    throw new OperationOutcomeError(combine(failures));
  }
  return new LoadedMappingSet(mappings, index, name(dir));
}

class LoadedMappingSet implements MappingSet {
  constructor(
    readonly mappings: readonly LoadedMapping[],
    readonly conceptMaps: ConceptMapIndex,
    private readonly dir: string
  ) {}

  get(kind: RecordKind): LoadedMapping {
    const found = this.mappings.find((m) => m.kind === kind);
    if (!found) {
      throw new OperationOutcomeError(mappingInvalid(this.dir, [{ path: '', message: `no mapping for kind ${kind}` }]));
    }
    return found;
  }
}

function loadMappingFile(
  file: string,
  validate: ValidateFunction,
  maps: ConceptMapIndex
): Omit<LoadedMapping, 'file'> | { problems: Problem[] } {
  const parsed = parseJson(file);
  if ('problems' in parsed) {
    return parsed;
  }
  const schema = schemaProblems(validate, parsed.value);
  if (schema.length > 0) {
    return { problems: schema };
  }
  const def = parsed.value as MappingFile;
  const { expressions, problems } = compileMapping(def, maps);
  if (basename(file) !== `${def.id}.json`) {
    problems.push({ path: '/id', message: `the file of mapping '${def.id}' must be named ${def.id}.json` });
  }
  return problems.length > 0 ? { problems } : { id: def.id, version: def.version, kind: def.kind, definition: def, expressions };
}

function loadResources<T extends CodeSystem | ConceptMap>(
  dir: string,
  resourceType: T['resourceType'],
  name: (file: string) => string,
  failures: Failure[]
): Loaded<T>[] {
  const out: Loaded<T>[] = [];
  for (const file of existsSync(dir) ? jsonFiles(dir) : []) {
    const parsed = parseJson(file);
    if ('problems' in parsed) {
      failures.push({ file: name(file), problems: parsed.problems });
      continue;
    }
    const problems = resourceProblems(parsed.value, resourceType);
    if (problems.length > 0) {
      failures.push({ file: name(file), problems });
    }
    // Kept even when invalid (the load fails anyway), so mappings naming it get no follow-on problems.
    if ((parsed.value as { resourceType?: unknown }).resourceType === resourceType) {
      out.push({ file: name(file), resource: parsed.value as T });
    }
  }
  return out;
}

/** The resource must be the expected type and valid FHIR R4 (medplum's validator, invariants included). */
function resourceProblems(value: unknown, resourceType: string): Problem[] {
  if ((value as { resourceType?: unknown })?.resourceType !== resourceType) {
    return [{ path: '/resourceType', message: `must be a ${resourceType}` }];
  }
  try {
    validateResource(value as ConceptMap);
    return [];
  } catch (err) {
    const issues = err instanceof OperationOutcomeError ? (err.outcome.issue ?? []) : [];
    return issues.length > 0
      ? issues.map((i) => ({ path: i.expression?.[0] ?? '', message: i.details?.text ?? 'invalid' }))
      : [{ path: '', message: errorText(err) }];
  }
}

function parseJson(file: string): { value: unknown } | { problems: Problem[] } {
  try {
    return { value: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch (err) {
    return { problems: [{ path: '', message: `not valid JSON: ${errorText(err)}` }] };
  }
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(dir, e.name))
    .sort();
}

/** Exactly one mapping per record kind. */
function kindProblems(mappings: LoadedMapping[]): Problem[] {
  return RECORD_KINDS.flatMap((kind) => {
    const found = mappings.filter((m) => m.kind === kind);
    if (found.length === 1) {
      return [];
    }
    const message =
      found.length === 0
        ? `no mapping file for kind '${kind}'`
        : `${found.length} mapping files for kind '${kind}': ${found.map((m) => m.file).join(', ')}`;
    return [{ path: '', message }];
  });
}

/** One outcome for all files: each file's issues as mappingInvalid words them. */
function combine(failures: Failure[]): OperationOutcome {
  const outcomes = failures.map((f) => mappingInvalid(f.file, f.problems));
  return { ...outcomes[0], issue: outcomes.flatMap((o) => o.issue ?? []) };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
