/**
 * The parameters of `$viewdefinition-run` (SQL-on-FHIR v2 OperationDefinition ViewDefinitionRun),
 * read from a FHIR Parameters body (and `_format`/`header` from the query string, as FHIR allows for
 * `_format`). Every problem is reported at once, each with the JSON pointer of the parameter.
 * See: https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/OperationDefinition-ViewDefinitionRun.html
 */
import type { Parameters, ParametersParameter, Reference, Resource } from '@medplum/fhirtypes';
import type { Problem } from '../../outcomes.js';
import { OperationOutcomeError } from '../../outcomes.js';
import { outputFormatOf, OUTPUT_FORMATS, type OutputFormat } from '../output/index.js';
import { notSupported, parametersInvalid } from '../outcomes.js';

/** A run request, as parsed. */
export interface RunParameters {
  format: OutputFormat;
  /** CSV header line (default true). */
  header: boolean;
  /** Exactly one of these two. */
  viewResource?: { view: unknown; pointer: string };
  viewReference?: string;
  /** Inline resources: when given, the view runs over these instead of the service's data. */
  resources?: Resource[];
  /** Patient id (from `Patient/<id>`). */
  patient?: string;
  /** Group ids (from `Group/<id>`). */
  groups?: string[];
  /** ISO instant. */
  since?: string;
  /** Maximum number of rows. */
  limit?: number;
  /** De-identify data read from the service's store (ours; default true). */
  deidentify: boolean;
}

/** The parameters this server knows; `source` is defined by the operation but not served. */
const KNOWN = new Set(['_format', 'header', 'viewReference', 'viewResource', 'resource', 'patient', 'group', '_since', '_limit', 'deidentify']);
const NOT_SERVED: Record<string, string> = {
  source: 'the source parameter is not supported: views run over the resources given or over the resources this service holds',
};
const QUERY_KNOWN = new Set(['_format', 'header']);
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a run request.
 * @param body - The request body (a Parameters resource).
 * @param query - The query string.
 * @throws OperationOutcomeError: 400 not-supported for parameters we do not serve, 400 invalid for the rest.
 */
export function parseRunParameters(body: unknown, query: Record<string, unknown>): RunParameters {
  const unsupported: Problem[] = [];
  const problems: Problem[] = [];
  for (const key of Object.keys(query)) {
    if (!QUERY_KNOWN.has(key)) {
      unsupported.push({ path: `?${key}`, message: `the query parameter '${key}' is not supported (send parameters in the Parameters body)` });
    }
  }
  const params = parametersOf(body, problems);
  const byName = new Map<string, { p: ParametersParameter; at: string }[]>();
  params.forEach((p, i) => {
    const at = `/parameter/${i}`;
    if (typeof p?.name !== 'string') {
      problems.push({ path: `${at}/name`, message: 'every parameter needs a name' });
      return;
    }
    if (NOT_SERVED[p.name]) {
      unsupported.push({ path: `${at}/name`, message: NOT_SERVED[p.name] });
    } else if (!KNOWN.has(p.name)) {
      unsupported.push({ path: `${at}/name`, message: `the parameter '${p.name}' is not supported by $viewdefinition-run` });
    } else {
      byName.set(p.name, [...(byName.get(p.name) ?? []), { p, at }]);
    }
  });
  if (unsupported.length > 0) {
    throw new OperationOutcomeError(notSupported(unsupported));
  }
  const one = (name: string): { p: ParametersParameter; at: string } | undefined => {
    const all = byName.get(name) ?? [];
    if (all.length > 1) {
      problems.push({ path: all[1].at, message: `'${name}' may be given at most once` });
    }
    return all[0];
  };

  const format = readFormat(one('_format'), query._format, problems);
  const header = readBoolean(one('header'), query.header, 'header', true, problems);
  const deidentify = readBoolean(one('deidentify'), undefined, 'deidentify', true, problems);
  const viewResource = one('viewResource');
  const viewReference = one('viewReference');
  if (!viewResource === !viewReference) {
    problems.push({ path: '/parameter', message: 'give exactly one of viewResource (the ViewDefinition) and viewReference (ViewDefinition/<name>)' });
  }
  if (viewResource && !viewResource.p.resource) {
    problems.push({ path: `${viewResource.at}/resource`, message: 'viewResource must carry the ViewDefinition as its resource' });
  }
  const reference = viewReference ? referenceOf(viewReference, problems) : undefined;
  const resources = (byName.get('resource') ?? []).flatMap(({ p, at }) => {
    if (!p.resource || typeof p.resource !== 'object' || typeof (p.resource as Resource).resourceType !== 'string') {
      problems.push({ path: `${at}/resource`, message: 'each resource parameter must carry a FHIR resource' });
      return [];
    }
    return [p.resource as Resource];
  });
  const patient = one('patient');
  const patientId = patient ? typedReference(patient, 'Patient', problems) : undefined;
  const groups = (byName.get('group') ?? []).map((g) => typedReference(g, 'Group', problems)).filter((g): g is string => !!g);
  const since = one('_since');
  const sinceValue = since ? (since.p.valueInstant ?? since.p.valueDateTime) : undefined;
  if (since && !(typeof sinceValue === 'string' && INSTANT.test(sinceValue))) {
    problems.push({ path: `${since.at}/valueInstant`, message: '_since must be an instant with a time zone, like 2026-02-01T00:00:00Z' });
  }
  const limit = one('_limit');
  const limitValue = limit ? (limit.p.valueInteger ?? limit.p.valuePositiveInt ?? limit.p.valueUnsignedInt) : undefined;
  if (limit && !(Number.isInteger(limitValue) && (limitValue as number) > 0)) {
    problems.push({ path: `${limit.at}/valueInteger`, message: '_limit must be a whole number of rows, 1 or more' });
  }
  if (problems.length > 0) {
    throw new OperationOutcomeError(parametersInvalid(problems));
  }
  return {
    format: format as OutputFormat,
    header,
    deidentify,
    ...(viewResource ? { viewResource: { view: viewResource.p.resource, pointer: `${viewResource.at}/resource` } } : {}),
    ...(reference ? { viewReference: reference } : {}),
    ...(byName.has('resource') ? { resources } : {}),
    ...(patientId ? { patient: patientId } : {}),
    ...(byName.has('group') ? { groups } : {}),
    ...(since ? { since: sinceValue as string } : {}),
    ...(limit ? { limit: limitValue as number } : {}),
  };
}

function parametersOf(body: unknown, problems: Problem[]): ParametersParameter[] {
  const p = body as Parameters | undefined;
  if (!p || typeof p !== 'object' || p.resourceType !== 'Parameters') {
    problems.push({ path: '/resourceType', message: 'the body must be a FHIR Parameters resource' });
    return [];
  }
  if (p.parameter !== undefined && !Array.isArray(p.parameter)) {
    problems.push({ path: '/parameter', message: 'must be an array' });
    return [];
  }
  return p.parameter ?? [];
}

function readFormat(param: { p: ParametersParameter; at: string } | undefined, query: unknown, problems: Problem[]): OutputFormat | undefined {
  const raw = param ? (param.p.valueCode ?? param.p.valueString) : typeof query === 'string' ? query : undefined;
  const at = param ? `${param.at}/valueCode` : '?_format';
  if (raw === undefined) {
    problems.push({ path: '/parameter', message: `_format is required: one of ${OUTPUT_FORMATS.join(', ')}` });
    return undefined;
  }
  const format = typeof raw === 'string' ? outputFormatOf(raw) : undefined;
  if (!format) {
    problems.push({ path: at, message: `_format must be one of ${OUTPUT_FORMATS.join(', ')}`, code: 'not-supported' });
  }
  return format;
}

function readBoolean(
  param: { p: ParametersParameter; at: string } | undefined,
  query: unknown,
  name: string,
  dflt: boolean,
  problems: Problem[]
): boolean {
  if (param) {
    if (typeof param.p.valueBoolean !== 'boolean') {
      problems.push({ path: `${param.at}/valueBoolean`, message: `${name} must be a valueBoolean` });
      return dflt;
    }
    return param.p.valueBoolean;
  }
  if (query === 'true' || query === 'false') {
    return query === 'true';
  }
  if (query !== undefined) {
    problems.push({ path: `?${name}`, message: `${name} must be true or false` });
  }
  return dflt;
}

/** `viewReference`: `ViewDefinition/<name>` (a Reference; a canonical or string is accepted too). */
function referenceOf({ p, at }: { p: ParametersParameter; at: string }, problems: Problem[]): string | undefined {
  const raw = (p.valueReference as Reference | undefined)?.reference ?? p.valueCanonical ?? p.valueString ?? p.valueUri;
  if (typeof raw !== 'string' || raw === '') {
    problems.push({ path: `${at}/valueReference`, message: 'viewReference must be a Reference like { "reference": "ViewDefinition/<name>" }' });
    return undefined;
  }
  return raw;
}

/** A `Patient/<id>` or `Group/<id>` reference parameter: the id. */
function typedReference({ p, at }: { p: ParametersParameter; at: string }, type: string, problems: Problem[]): string | undefined {
  const raw = (p.valueReference as Reference | undefined)?.reference;
  const m = typeof raw === 'string' ? new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(raw) : null;
  if (!m) {
    problems.push({ path: `${at}/valueReference`, message: `${p.name} must be a Reference like { "reference": "${type}/<id>" }` });
    return undefined;
  }
  return m[1];
}
