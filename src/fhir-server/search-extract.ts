/**
 * What the index stores for one resource: for every indexed search parameter, the values medplum's
 * matcher (`matchesSearchRequest`) would compare, normalised the way it compares them. Built from the
 * parameter's own FHIRPath expression and medplum's own `convertToSearchable*` helpers, so the index and
 * the matcher cannot disagree on what a resource's values are.
 */
import type { TypedValue } from '@medplum/core';
import {
  convertToSearchableDates,
  convertToSearchableReferences,
  convertToSearchableStrings,
  convertToSearchableTokens,
  evalFhirPathTyped,
  toTypedValue,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { IndexedParam } from './search-params.js';
import { indexedParams } from './search-params.js';

/** The matcher's bounds for an open-ended period (compared as strings, like the matcher does). */
export const OPEN_LOW = '0000';
export const OPEN_HIGH = '9999';

/** Span classes (search_date.span): 0..MAX_BOUNDED_CLASS = width at most 2^class ms. */
export const MAX_BOUNDED_CLASS = 60;
/** An open-ended or reversed period: no width bound. */
export const UNBOUNDED_CLASS = 99;
/** A resource with several distinct values for the parameter: every row of it gets this class. */
export const MULTI_CLASS = 100;
/** The marker row of a parameter that has values, none of them a date. */
export const MARKER_CLASS = -1;

/** One token row: lower-cased, '' for an absent system or value. */
export interface TokenRow {
  system: string;
  value: string;
}

/** One date row. */
export interface DateRow {
  low: string;
  high: string;
  span: number;
}

/** The index rows of one parameter of one resource; `undefined` lists mean "no value at all". */
export interface ParamEntries {
  param: IndexedParam;
  tokens?: TokenRow[];
  references?: string[];
  dates?: DateRow[];
  /** null is the marker. */
  strings?: (string | null)[];
}

/** Raised when a parameter's values cannot be computed (the matcher would fail on them too). */
export class ExtractionError extends Error {
  readonly code: string;

  constructor(code: string, cause: unknown) {
    super(`Search parameter ${code} cannot be evaluated`, { cause });
    this.name = 'ExtractionError';
    this.code = code;
  }
}

/**
 * The index rows of a resource, one entry per indexed parameter that has values.
 * @param resource - A stored resource.
 * @param onError - Called for a parameter whose values cannot be computed; that parameter is left out.
 * @returns The entries.
 */
export function extractEntries(resource: Resource, onError?: (err: ExtractionError) => void): ParamEntries[] {
  const input = [toTypedValue(resource)];
  const keys = Object.keys(resource);
  const out: ParamEntries[] = [];
  for (const param of indexedParams(resource.resourceType).values()) {
    if (param.heads && !param.heads.some((head) => keys.some((k) => k.startsWith(head) || k.startsWith(`_${head}`)))) {
      continue; // none of the elements it starts from (a prefix covers choice types: value -> valueQuantity)
    }
    try {
      const entries = paramEntries(param, evalFhirPathTyped(param.atom, input));
      if (entries) {
        out.push(entries);
      }
    } catch (err) {
      onError?.(new ExtractionError(param.code, err));
    }
  }
  return out;
}

/**
 * @param param - The parameter.
 * @param typed - Its expression's values on a resource.
 * @returns Its rows, with a marker row when there are values but none indexable; undefined for none.
 */
export function paramEntries(param: IndexedParam, typed: TypedValue[]): ParamEntries | undefined {
  if (typed.length === 0) {
    return undefined;
  }
  switch (param.table) {
    case 'token': {
      const tokens = tokenRows(typed);
      return { param, tokens: tokens.length ? tokens : [{ system: '', value: '' }] };
    }
    case 'reference': {
      const references = convertToSearchableReferences(typed);
      return { param, references: references.length ? references : [''] };
    }
    case 'date': {
      const dates = dateRows(typed);
      return { param, dates: dates.length ? dates : [{ low: '', high: '', span: MARKER_CLASS }] };
    }
    case 'string': {
      const strings = [...new Set(convertToSearchableStrings(typed).map((s) => s.toLowerCase()))];
      return { param, strings: strings.length ? strings : [null] };
    }
  }
}

function tokenRows(typed: TypedValue[]): TokenRow[] {
  const seen = new Map<string, TokenRow>();
  for (const token of convertToSearchableTokens(typed)) {
    const row = { system: (token.system ?? '').toLowerCase(), value: (token.value ?? '').toLowerCase() };
    seen.set(`${row.system}|${row.value}`, row);
  }
  return [...seen.values()];
}

function dateRows(typed: TypedValue[]): DateRow[] {
  const seen = new Map<string, DateRow>();
  for (const period of convertToSearchableDates(typed)) {
    const low = period.start ?? OPEN_LOW;
    const high = period.end ?? OPEN_HIGH;
    seen.set(`${low}/${high}`, { low, high, span: spanClass(low, high) });
  }
  const rows = [...seen.values()];
  if (rows.length > 1) {
    rows.forEach((r) => (r.span = MULTI_CLASS));
  }
  return rows;
}

/**
 * The span class of a period: the smallest k with width <= 2^k ms, or UNBOUNDED_CLASS for an open or
 * reversed one (the date search relies on low <= high <= low + 2^k within a bounded class).
 */
export function spanClass(low: string, high: string): number {
  const width = Date.parse(high) - Date.parse(low);
  if (low === OPEN_LOW || high === OPEN_HIGH || Number.isNaN(width) || width < 0) {
    return UNBOUNDED_CLASS;
  }
  if (width <= 1) {
    return 0;
  }
  let k = Math.ceil(Math.log2(width));
  while (2 ** k < width) {
    k++; // log2 rounds: the bound must hold exactly
  }
  return Math.min(k, MAX_BOUNDED_CLASS);
}
