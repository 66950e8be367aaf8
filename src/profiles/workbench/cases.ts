/**
 * Golden mapping cases (test/mapping-cases/<mapping id>/*.json): input -> the exact FHIR resources,
 * or input -> the exact error with its paths. Discovered by walking the folder, so adding a case needs
 * no code; every file is checked against mapping-cases.schema.json first. Run by the jest suite
 * (test/mapping-cases) and by `collateral-fhir test-mappings`, which prints a diff per failure.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { Ajv } from 'ajv';
import type { AnyRecord, ConsentRecord, Participant, RecordKind, SessionRecord } from '../../domain/records.js';
import { validateRecord } from '../../inbound/validate.js';
import { mapRecord, PRACTICE_NAMESPACE, type MappingConfig, type MappingContext, type MappingSet } from '../../mapping/index.js';
import { schemaProblems } from '../../mapping/schema.js';
import { OperationOutcomeError, type Problem } from '../../outcomes.js';
import { projectRoot } from '../../paths.js';
import type { ProfilePack } from '../pack.js';
import { validateDeclared } from '../validate.js';
import { diffJson, formatDiff } from './diff.js';

/** The default MRN system of golden cases (the service's own default, README configuration). */
export const CASE_MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';

export interface CaseConfig {
  ns?: string;
  mrnSystem?: string;
  includeNonFamilyContactDetails?: boolean;
}

export interface CaseContext {
  participants?: Participant[];
  session?: SessionRecord;
  /** What the disclosure gate would decide: the consents relied on and the purpose of use. */
  consents?: ConsentRecord[];
  purposeOfUse?: string;
}

export interface ExpectedIssue {
  expression: string;
  text?: string;
}

export interface GoldenCase {
  title: string;
  tags?: string[];
  input?: Record<string, unknown>;
  with?: Record<string, unknown>;
  without?: string[];
  config?: CaseConfig;
  context?: CaseContext;
  expect?: Resource[];
  expectError?: { outcome: 'input-invalid' | 'transform-failed'; issues: ExpectedIssue[] };
}

export interface CaseSuite {
  title: string;
  mapping: string;
  description?: string;
  config?: CaseConfig;
  context?: CaseContext;
  base?: Record<string, unknown>;
  cases: GoldenCase[];
}

/** A case file that passed its schema. */
export interface CaseFile {
  /** Path relative to the project (for messages). */
  file: string;
  path: string;
  suite: CaseSuite;
}

/** What one case did. */
export interface CaseRun {
  file: string;
  index: number;
  title: string;
  kind: RecordKind;
  input: AnyRecord;
  context: MappingContext;
  /** The mapped resources (when the record mapped). */
  actual?: Resource[];
  /** Readable reasons the case failed; empty when it passed. */
  failures: string[];
}

/** The default case folder: test/mapping-cases. */
export function defaultCasesDir(): string {
  return join(projectRoot(), 'test', 'mapping-cases');
}

/**
 * Finds and schema-checks every case file under `dir/<mapping id>/`.
 * @returns The valid files, and the problems of the others (file and JSON path of each).
 */
export function loadCaseFiles(dir: string = defaultCasesDir()): { files: CaseFile[]; problems: { file: string; problems: Problem[] }[] } {
  const schema = JSON.parse(readFileSync(join(dir, 'mapping-cases.schema.json'), 'utf8')) as object;
  // strictRequired off: oneOf/not test presence of keys declared one level up.
  const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, logger: false }).compile(schema);
  const files: CaseFile[] = [];
  const problems: { file: string; problems: Problem[] }[] = [];
  for (const path of caseFilePaths(dir)) {
    const inside = relative(projectRoot(), path);
    const file = inside.startsWith('..') ? path : inside;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      problems.push({ file, problems: [{ path: '', message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` }] });
      continue;
    }
    const found = schemaProblems(validate, data);
    const suite = data as CaseSuite;
    if (found.length === 0 && suite.mapping !== basename(dirname(path))) {
      found.push({ path: '/mapping', message: `'${suite.mapping}' must match its folder test/mapping-cases/${basename(dirname(path))}/` });
    }
    if (found.length > 0) {
      problems.push({ file, problems: found });
    } else {
      files.push({ file, path, suite });
    }
  }
  return { files, problems };
}

function caseFilePaths(dir: string): string[] {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(dir, d.name))
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(dir, d.name, f))
    )
    .sort();
}

/** The record a case maps: its input, or the file's base with `with` and `without` applied. */
export function caseInput(suite: CaseSuite, c: GoldenCase): Record<string, unknown> {
  if (c.input) {
    return c.input;
  }
  const out: Record<string, unknown> = { ...(suite.base ?? {}), ...(c.with ?? {}) };
  for (const key of c.without ?? []) {
    delete out[key];
  }
  return out;
}

/** The mapping context of a case: the case's context (else the file's), its config over the file's. */
export function caseContext(suite: CaseSuite, c: GoldenCase): MappingContext {
  const cfg = { ...suite.config, ...c.config };
  const config: MappingConfig = {
    ns: cfg.ns ?? PRACTICE_NAMESPACE,
    mrnSystem: cfg.mrnSystem ?? CASE_MRN_SYSTEM,
    ...(cfg.includeNonFamilyContactDetails !== undefined ? { includeNonFamilyContactDetails: cfg.includeNonFamilyContactDetails } : {}),
  };
  // A case's context replaces the file's (so a case can take a record away); its config is merged.
  const ctx = c.context ?? suite.context ?? {};
  return {
    config,
    ...(ctx.participants ? { participants: Object.fromEntries(ctx.participants.map((p) => [p.id, p])) } : {}),
    ...(ctx.session ? { session: ctx.session } : {}),
    ...(ctx.consents ? { consents: ctx.consents } : {}),
    ...(ctx.purposeOfUse ? { purposeOfUse: ctx.purposeOfUse } : {}),
  };
}

/**
 * Runs one case: inbound validation, mapping, then the expectation and profile validation of the output.
 * @param packFor - The profile pack for a namespace (cases may configure their own).
 */
export function runCase(
  file: CaseFile,
  index: number,
  mappings: MappingSet,
  packFor: (ns: string) => ProfilePack
): CaseRun {
  const { suite } = file;
  const c = suite.cases[index];
  const mapping = mappings.mappings.find((m) => m.id === suite.mapping);
  const input = caseInput(suite, c);
  const context = caseContext(suite, c);
  const run: CaseRun = { file: file.file, index, title: c.title, kind: mapping?.kind ?? 'participant', input: input as unknown as AnyRecord, context, failures: [] };
  if (!mapping) {
    run.failures.push(`no loaded mapping '${suite.mapping}' (loaded: ${mappings.mappings.map((m) => m.id).join(', ')})`);
    return run;
  }
  let actual: Resource[] | undefined;
  let error: OperationOutcomeError | undefined;
  try {
    const record = validateRecord(mapping.kind, input);
    actual = mapRecord(mappings, mapping.kind, record, context).resources.map((r) => r.resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      throw err;
    }
    error = err;
  }
  run.actual = actual;
  if (c.expectError) {
    run.failures.push(...errorFailures(c.expectError, error, actual));
  } else if (error) {
    run.failures.push(`expected resources, but the record was refused (${error.outcome.id}):`, ...issueLines(error));
  } else {
    const diffs = diffJson(c.expect ?? [], actual ?? []);
    if (diffs.length > 0) {
      run.failures.push('the output differs from the golden resources:', ...formatDiff(diffs));
    }
    const pack = packFor(context.config.ns);
    (actual ?? []).forEach((r, i) => {
      const errors = validateDeclared(r, pack).filter((x) => x.severity === 'error');
      errors.forEach((x) => run.failures.push(`resource ${i} (${r.resourceType}) fails its profile at ${x.expression?.[0]}: ${x.details?.text}`));
    });
  }
  return run;
}

function errorFailures(expected: NonNullable<GoldenCase['expectError']>, error: OperationOutcomeError | undefined, actual: Resource[] | undefined): string[] {
  if (!error) {
    return [`expected ${expected.outcome}, but the record mapped to ${actual?.length ?? 0} resource(s)`];
  }
  const failures: string[] = [];
  if (error.outcome.id !== expected.outcome) {
    failures.push(`expected outcome ${expected.outcome}, got ${error.outcome.id}`);
  }
  const issues = (error.outcome.issue ?? []).map((i) => ({ expression: i.expression?.[0] ?? '', text: i.details?.text ?? '' }));
  const unmatched = [...issues];
  for (const want of expected.issues) {
    const at = unmatched.findIndex((i) => i.expression === want.expression && (!want.text || i.text.includes(want.text)));
    if (at < 0) {
      failures.push(`missing issue at '${want.expression}'${want.text ? ` containing "${want.text}"` : ''}`);
    } else {
      unmatched.splice(at, 1);
    }
  }
  unmatched.forEach((i) => failures.push(`unexpected issue at '${i.expression}': ${i.text}`));
  if (failures.length > 0) {
    failures.push('actual issues:', ...issueLines(error));
  }
  return failures;
}

function issueLines(error: OperationOutcomeError): string[] {
  return (error.outcome.issue ?? []).map((i) => `  ${i.expression?.[0] ?? '(no path)'}: ${i.details?.text ?? ''}`);
}
