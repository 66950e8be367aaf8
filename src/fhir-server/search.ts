/**
 * Search request checks shared by every search path of the SQLite repository: which parameters are
 * known and supported, and the page size. How a search is answered is in search-exec.ts (the index:
 * search-schema.ts, search-plan.ts; docs/embedded-fhir-server.md).
 */
import { OperationOutcomeError, badRequest, getSearchParameter } from '@medplum/core';
import type { Filter, SearchRequest, WithId } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** Used when a search gives no `_count`, like medplum's server. */
export const DEFAULT_SEARCH_COUNT = 20;
/** Upper bound for `_count`, so one request cannot serialise the whole store. */
export const MAX_SEARCH_COUNT = 1000;

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
 * A searchset Bundle.
 * @param total - How many resources match.
 * @param page - The page of them to return.
 * @returns The Bundle (no `entry` when the page is empty).
 */
export function searchset<T extends Resource>(total: number, page: WithId<T>[]): Bundle<WithId<T>> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    ...(page.length ? { entry: page.map((resource) => ({ resource, search: { mode: 'match' as const } })) } : {}),
  };
}
