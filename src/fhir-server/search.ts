/**
 * Search support for the SQLite repository: which rows to look at, and how to order the matches.
 *
 * Matching itself is always medplum's `matchesSearchRequest`, so search semantics are exactly medplum's.
 * SQL only narrows the candidates: by `_id`, or by the `identifier` token index. The narrowing must
 * return a superset of what medplum would match, so the index stores tokens the way medplum's matcher
 * compares them (lower-cased, from the search parameter's own FHIRPath expression).
 */
import {
  Operator,
  OperationOutcomeError,
  badRequest,
  convertToSearchableTokens,
  evalFhirPath,
  evalFhirPathTyped,
  getSearchParameter,
  splitSearchOnComma,
  toTypedValue,
} from '@medplum/core';
import type { Filter, SearchRequest, SortRule } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

/** The search parameter whose tokens are indexed. */
export const INDEXED_TOKEN_PARAM = 'identifier';

/** Used when a search gives no `_count`, like medplum's server. */
export const DEFAULT_SEARCH_COUNT = 20;
/** Upper bound for `_count`, so one request cannot serialise the whole store. */
export const MAX_SEARCH_COUNT = 1000;

/** One row of resource_tokens. '' stands for an absent system or value. */
export interface IndexedToken {
  system: string;
  value: string;
}

/** A lookup in resource_tokens: `system` undefined means any system. */
export interface TokenQuery {
  system?: string;
  value?: string;
}

/**
 * The identifier tokens of a resource, as medplum's matcher sees them.
 * @param resource - A resource about to be stored.
 * @returns Distinct lower-cased (system, value) pairs.
 */
export function identifierTokens(resource: Resource): IndexedToken[] {
  const param = getSearchParameter(resource.resourceType, INDEXED_TOKEN_PARAM);
  if (param?.type !== 'token' || !param.expression) {
    return [];
  }
  const typed = evalFhirPathTyped(param.expression, [toTypedValue(resource)]);
  const seen = new Map<string, IndexedToken>();
  for (const token of convertToSearchableTokens(typed)) {
    const row = { system: (token.system ?? '').toLowerCase(), value: (token.value ?? '').toLowerCase() };
    if (row.system || row.value) {
      seen.set(`${row.system}|${row.value}`, row);
    }
  }
  return [...seen.values()];
}

/**
 * Translates an `identifier` filter into token-index lookups, mirroring medplum's matchesTokenValue.
 * @param resourceType - The searched type.
 * @param filters - The search filters.
 * @returns The lookups (OR-ed), or undefined when the index cannot narrow this search.
 */
export function identifierLookups(resourceType: string, filters: Filter[] | undefined): TokenQuery[] | undefined {
  const filter = filters?.find((f) => f.code === INDEXED_TOKEN_PARAM && f.operator === Operator.EQUALS);
  if (!filter || getSearchParameter(resourceType, INDEXED_TOKEN_PARAM)?.type !== 'token') {
    return undefined;
  }
  const lookups: TokenQuery[] = [];
  for (const raw of splitSearchOnComma(filter.value)) {
    if (!raw.includes('|')) {
      lookups.push({ value: raw.toLowerCase() });
      continue;
    }
    const [system, value] = raw.split('|').map((s) => s.toLowerCase());
    if (!system && !value) {
      continue; // medplum matches nothing for a bare "|"
    }
    lookups.push(system ? { system, ...(value ? { value } : {}) } : { system: '', value });
  }
  return lookups;
}

/**
 * The `_id` values of an `_id=` filter, or undefined when there is none.
 * @param filters - The search filters.
 * @returns The requested ids.
 */
export function idLookups(filters: Filter[] | undefined): string[] | undefined {
  const filter = filters?.find((f) => f.code === '_id' && f.operator === Operator.EQUALS);
  return filter ? splitSearchOnComma(filter.value) : undefined;
}

/** The search parameter types medplum's matchesSearchRequest evaluates (others never match). */
const SUPPORTED_PARAM_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);

/**
 * @param type - A SearchParameter.type.
 * @returns True when searches on parameters of this type work.
 */
export function isSupportedSearchParamType(type: string | undefined): boolean {
  return type !== undefined && SUPPORTED_PARAM_TYPES.has(type);
}

/**
 * Rejects filters naming a search parameter the type does not have, or one of a type the matcher cannot
 * evaluate. medplum's matcher silently treats both as "no match", which would turn a typo in an
 * If-None-Exist into a duplicate create.
 * @param resourceType - The searched type.
 * @param filters - The search filters.
 */
export function assertKnownSearchParameters(resourceType: string, filters: Filter[] | undefined): void {
  for (const filter of filters ?? []) {
    const param = getSearchParameter(resourceType, filter.code);
    if (!param) {
      throw new OperationOutcomeError(badRequest(`Unknown search parameter: ${filter.code}`, filter.code));
    }
    if (!isSupportedSearchParamType(param.type)) {
      throw new OperationOutcomeError(
        badRequest(`Search parameter ${filter.code} (${param.type}) is not supported`, filter.code)
      );
    }
  }
}

/**
 * The page size of a search request, defaulted and capped.
 * @param request - The search request.
 * @returns How many entries to return.
 */
export function pageSize(request: SearchRequest): number {
  const count = request.count;
  if (count === undefined || Number.isNaN(count) || count < 0) {
    return DEFAULT_SEARCH_COUNT;
  }
  return Math.min(count, MAX_SEARCH_COUNT);
}

/**
 * Sorts matches: by meta.lastUpdated then id (stable paging), then by the requested sort rules, each
 * compared on the JSON of its search parameter's FHIRPath values (MemoryRepository's approach).
 * @param resources - The matches; sorted in place.
 * @param sortRules - The `_sort` rules, most significant first.
 * @returns The same array.
 */
export function sortResources<T extends Resource>(resources: T[], sortRules: SortRule[] | undefined): T[] {
  const keyOf = (r: T): string => `${r.meta?.lastUpdated ?? ''}\u0000${r.id ?? ''}`;
  resources.sort((a, b) => compareStrings(keyOf(a), keyOf(b)));
  if (!sortRules?.length) {
    return resources;
  }
  const keys = new Map<T, string[]>();
  for (const resource of resources) {
    keys.set(
      resource,
      sortRules.map((rule) => sortKey(resource, rule))
    );
  }
  return resources.sort((a, b) => {
    const ka = keys.get(a) as string[];
    const kb = keys.get(b) as string[];
    for (let i = 0; i < sortRules.length; i++) {
      const c = compareStrings(ka[i], kb[i]) * (sortRules[i].descending ? -1 : 1);
      if (c !== 0) {
        return c;
      }
    }
    return 0;
  });
}

function sortKey(resource: Resource, rule: SortRule): string {
  const expression = getSearchParameter(resource.resourceType, rule.code)?.expression;
  return expression ? JSON.stringify(evalFhirPath(expression, resource)) : '';
}

function compareStrings(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}
