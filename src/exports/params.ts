/**
 * Operation parameters from a query string (GET) or a FHIR Parameters body (POST), as (name, value)
 * pairs with where each came from, so every problem can name its parameter.
 */
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import type { Problem } from '../outcomes.js';

/** One parameter occurrence. */
export interface Param {
  name: string;
  /** A string for query parameters and primitive values; the Reference or Resource or parts otherwise. */
  value: unknown;
  /** Where it was: `_type` (query) or `Parameters.parameter[2]` (body). */
  at: string;
  /** The value[x] key in a body (valueString, valueReference ...); undefined in a query. */
  valueKey?: string;
  /** Parts of a complex parameter (the `view` of $viewdefinition-export). */
  parts?: Param[];
  resource?: Resource;
}

/** Reads query parameters; repeated names stay separate. */
export function fromQuery(query: Record<string, unknown>): Param[] {
  const out: Param[] = [];
  for (const [name, raw] of Object.entries(query)) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      out.push({ name, value: typeof value === 'string' ? value : JSON.stringify(value), at: name });
    }
  }
  return out;
}

/** Reads a Parameters body. */
export function fromBody(body: unknown, problems: Problem[]): Param[] {
  const parameters = body as Parameters | undefined;
  if (!parameters || parameters.resourceType !== 'Parameters') {
    problems.push({ path: 'body', message: 'must be a FHIR Parameters resource (Content-Type: application/fhir+json)', code: 'invalid' });
    return [];
  }
  return (parameters.parameter ?? []).map((p, i) => fromParameter(p, `Parameters.parameter[${i}]`));
}

function fromParameter(p: ParametersParameter, at: string): Param {
  const valueKey = Object.keys(p).find((k) => k.startsWith('value'));
  return {
    name: String(p.name),
    value: valueKey ? (p as unknown as Record<string, unknown>)[valueKey] : undefined,
    valueKey,
    at,
    resource: p.resource,
    parts: p.part?.map((part, j) => fromParameter(part, `${at}.part[${j}]`)),
  };
}

/** The string of a parameter: query strings, valueString, valueCode, valueInstant, valueUri ... */
export function stringOf(p: Param): string | undefined {
  return typeof p.value === 'string' ? p.value : undefined;
}

/** The reference string of a valueReference (or a query value). */
export function referenceOf(p: Param): string | undefined {
  if (typeof p.value === 'string') {
    return p.value;
  }
  const reference = (p.value as { reference?: unknown } | undefined)?.reference;
  return typeof reference === 'string' ? reference : undefined;
}

/** A boolean: valueBoolean, or "true"/"false" in a query. */
export function booleanOf(p: Param): boolean | undefined {
  if (typeof p.value === 'boolean') {
    return p.value;
  }
  return p.value === 'true' ? true : p.value === 'false' ? false : undefined;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A FHIR instant (with seconds and a zone) as a normalized ISO string, or undefined. */
export function instantOf(p: Param): string | undefined {
  const s = stringOf(p);
  return s && INSTANT.test(s) && !Number.isNaN(Date.parse(s)) ? new Date(s).toISOString() : undefined;
}

/** `Patient/x` (relative or absolute) -> `x`; anything else undefined. */
export function patientIdOf(reference: string | undefined): string | undefined {
  const m = reference ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
  return m ? m[1] : undefined;
}

/** `Group/x` (relative or absolute) -> `x`. */
export function groupIdOf(reference: string | undefined): string | undefined {
  const m = reference ? /(?:^|\/)Group\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
  return m ? m[1] : undefined;
}
