/**
 * loadDeidPolicy: reads de-identification policy files (deidentify/*.json), checks each against
 * deidentify/policy.schema.json and then semantically (every path compiles and names real elements, every
 * method has the options it needs and fits the type it selects), and fails with every problem of every
 * file, naming the file and the JSON path. A broken policy stops the start-up.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { isResourceType, parseFhirPath } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { ValidateFunction } from 'ajv';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { compileMappingSchema, schemaProblems } from '../mapping/schema.js';
import { deidPolicyInvalid, OperationOutcomeError, type Problem } from '../outcomes.js';
import { projectRoot } from '../paths.js';
import { compileRule, type CompiledRule } from './selector.js';
import type { DeidPolicy, DeidPolicyFile, DeidRule } from './types.js';

/** The shipped policy folder. */
export const DEFAULT_POLICY_DIR = 'deidentify';
/** The policy used when none is named: HIPAA Safe Harbor for our resources. */
export const DEFAULT_POLICY_ID = 'safe-harbor';
const SCHEMA_FILE = 'policy.schema.json';

const DATE_TYPES = ['date', 'dateTime', 'instant'];
const NUMBER_TYPES = ['integer', 'decimal', 'positiveInt', 'unsignedInt', 'integer64'];

/**
 * Loads one policy.
 * @param path - A policy file, or a folder of policy files (every file in it is checked, so a broken
 *   neighbour also stops the start). Default: `<project root>/deidentify`.
 * @param id - With a folder: which policy to return (default `safe-harbor`).
 * @throws OperationOutcomeError(deidPolicyInvalid) naming each broken file and each problem's JSON path.
 */
export function loadDeidPolicy(path: string = join(projectRoot(), DEFAULT_POLICY_DIR), id: string = DEFAULT_POLICY_ID): DeidPolicy {
  if (existsSync(path) && statSync(path).isFile()) {
    return loadAll([path], join(dirname(path), SCHEMA_FILE))[0];
  }
  const policies = loadDeidPolicies(path);
  const found = policies.find((p) => p.id === id);
  if (!found) {
    const known = policies.map((p) => p.id).join(', ') || 'none';
    throw new OperationOutcomeError(deidPolicyInvalid(display(path), [{ path: '', message: `no policy "${id}" here (found: ${known})` }]));
  }
  return found;
}

/**
 * Loads and checks every policy file in a folder.
 * @throws OperationOutcomeError(deidPolicyInvalid) with every problem of every file.
 */
export function loadDeidPolicies(dir: string = join(projectRoot(), DEFAULT_POLICY_DIR)): DeidPolicy[] {
  if (!existsSync(dir)) {
    throw new OperationOutcomeError(deidPolicyInvalid(display(dir), [{ path: '', message: 'the policy folder does not exist' }]));
  }
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json') && e.name !== SCHEMA_FILE)
    .map((e) => join(dir, e.name))
    .sort();
  return loadAll(files, join(dir, SCHEMA_FILE));
}

function loadAll(files: string[], schemaFile: string): DeidPolicy[] {
  loadFhirDefinitions();
  // The schema sits beside the policies; a folder without one is checked against the shipped schema.
  const schemaPath = existsSync(schemaFile) ? schemaFile : join(projectRoot(), DEFAULT_POLICY_DIR, SCHEMA_FILE);
  const validate = compileMappingSchema(schemaPath);
  const failures: { file: string; problems: Problem[] }[] = [];
  const policies: DeidPolicy[] = [];
  for (const file of files) {
    const loaded = loadFile(file, validate);
    if ('problems' in loaded) {
      failures.push({ file: display(file), problems: loaded.problems });
    } else {
      policies.push(loaded);
    }
  }
  if (failures.length > 0) {
    const outcomes = failures.map((f) => deidPolicyInvalid(f.file, f.problems));
    throw new OperationOutcomeError({ ...outcomes[0], issue: outcomes.flatMap((o) => o.issue ?? []) } as OperationOutcome);
  }
  return policies;
}

function loadFile(file: string, validate: ValidateFunction): DeidPolicy | { problems: Problem[] } {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { problems: [{ path: '', message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  const schema = schemaProblems(validate, value);
  if (schema.length > 0) {
    return { problems: schema };
  }
  const def = value as DeidPolicyFile;
  const problems: Problem[] = [];
  if (basename(file) !== `${def.id}.json`) {
    problems.push({ path: '/id', message: `the file of policy "${def.id}" must be named ${def.id}.json` });
  }
  def.resourceTypes.forEach((t, i) => {
    if (!isResourceType(t)) {
      problems.push({ path: `/resourceTypes/${i}`, message: `"${t}" is not a FHIR R4 resource type` });
    }
  });
  for (const [type, expression] of Object.entries(def.clients ?? {})) {
    if (!def.resourceTypes.includes(type)) {
      problems.push({ path: `/clients/${type}`, message: `${type} is not in resourceTypes` });
    }
    try {
      parseFhirPath(expression);
    } catch {
      problems.push({ path: `/clients/${type}`, message: 'is not valid FHIRPath' });
    }
  }
  const rules: CompiledRule[] = [];
  def.fhirPathRules.forEach((rule, i) => {
    const { compiled, problems: pathProblems } = compileRule(rule, i);
    problems.push(...pathProblems.map((message) => ({ path: `/fhirPathRules/${i}/path`, message })));
    problems.push(...optionProblems(rule, compiled).map((message) => ({ path: `/fhirPathRules/${i}`, message })));
    if (compiled) {
      rules.push(compiled);
    }
  });
  if (problems.length > 0) {
    return { problems };
  }
  return {
    id: def.id,
    file: display(file),
    definition: def,
    rules,
    resourceTypes: new Set(def.resourceTypes),
    dateShiftRangeDays: def.parameters?.dateShiftRangeDays ?? 50,
  };
}

/** Options must match the method, and the method must fit the type a static path ends on. */
function optionProblems(rule: DeidRule, compiled: CompiledRule | undefined): string[] {
  const problems: string[] = [];
  const m = rule.method;
  if ((rule.to !== undefined || rule.ranges !== undefined) && m !== 'generalize') {
    problems.push(`"to" and "ranges" belong to generalize, not ${m}`);
  }
  if (rule.redactAgeOver !== undefined && m !== 'generalize' && m !== 'dateShift') {
    problems.push(`"redactAgeOver" belongs to generalize or dateShift, not ${m}`);
  }
  if (rule.replaceWith !== undefined && m !== 'substitute') {
    problems.push(`"replaceWith" belongs to substitute, not ${m}`);
  }
  if (m === 'substitute' && rule.replaceWith === undefined) {
    problems.push('substitute needs "replaceWith"');
  }
  if (m === 'generalize' && rule.to === undefined && rule.ranges === undefined) {
    problems.push('generalize needs "to" (year or month, for dates) or "ranges" (for numbers)');
  }
  if (rule.ranges && rule.ranges.some((r, i) => i > 0 && r <= rule.ranges![i - 1])) {
    problems.push('"ranges" must be ascending');
  }
  for (const type of compiled?.finalTypes ?? []) {
    if (!type || !/^[a-z]/.test(type)) {
      continue; // complex or unknown: the method applies to the primitives below
    }
    if (m === 'dateShift' && !DATE_TYPES.includes(type)) {
      problems.push(`dateShift applies to date, dateTime and instant; this path selects a ${type}`);
    }
    if (m === 'generalize' && rule.to && !DATE_TYPES.includes(type)) {
      problems.push(`generalize "to" applies to date, dateTime and instant; this path selects a ${type}`);
    }
    if (m === 'generalize' && rule.ranges && !NUMBER_TYPES.includes(type)) {
      problems.push(`generalize "ranges" applies to numbers; this path selects a ${type}`);
    }
  }
  return problems;
}

function display(file: string): string {
  const root = projectRoot();
  return file.startsWith(root) ? relative(root, file) : file;
}
