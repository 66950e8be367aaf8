/**
 * Rewrites a search request before it is answered (by the index and by medplum's matcher alike):
 * a bare id on a reference parameter (`patient=123`) also means `Patient/123` for each type the
 * parameter can point at, as FHIR search allows. medplum's matcher compares reference strings
 * literally and would otherwise never match a bare id; the literal value is kept as one alternative,
 * so nothing that matched before stops matching.
 */
import type { Filter, SearchRequest } from '@medplum/core';
import { Operator, splitSearchOnComma } from '@medplum/core';
import { indexedParam } from './search-params.js';

/** A FHIR id (R4 `id` datatype). */
const BARE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * @param request - A single-type search request (validated).
 * @returns The same request, or a copy with bare-id reference filters expanded.
 */
export function normalizeSearchRequest<T extends SearchRequest>(request: T): T {
  if (!request.filters?.length) {
    return request;
  }
  let changed = false;
  const filters = request.filters.map((filter) => {
    const expanded = expandBareIds(request.resourceType, filter);
    changed ||= expanded !== filter;
    return expanded;
  });
  return changed ? { ...request, filters } : request;
}

function expandBareIds(resourceType: string, filter: Filter): Filter {
  const param = indexedParam(resourceType, filter.code);
  if (
    param?.type !== 'reference' ||
    param.code === '_compartment' ||
    param.targets.length === 0 ||
    filter.operator === Operator.MISSING ||
    filter.operator === Operator.PRESENT
  ) {
    return filter;
  }
  const parts = splitSearchOnComma(filter.value);
  if (!parts.some((part) => BARE_ID.test(part))) {
    return filter;
  }
  const expanded = parts.flatMap((part) => (BARE_ID.test(part) ? [part, ...param.targets.map((t) => `${t}/${part}`)] : [part]));
  return { ...filter, value: [...new Set(expanded)].map(escapeComma).join(',') };
}

/** The inverse of splitSearchOnComma for one value. */
function escapeComma(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll(',', '\\,');
}
