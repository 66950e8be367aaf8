/**
 * Resolves the conditional entries of a transaction Bundle (POST + ifNoneExist, PUT Type?query) into
 * plain ones before medplum's processBatch sees the Bundle.
 *
 * Why: processBatch resolves conditions in a pre-pass outside its transaction, then refuses any
 * transaction with conditional entries and more than 8 entries ("requires strict isolation", a limit
 * that protects medplum's Postgres). Here the caller runs this pre-pass and processBatch inside one
 * SQLite transaction holding the connection's lock, so nothing can change between resolving and
 * writing, the race is gone and the limit is pointless. The semantics stay medplum's:
 * - POST + ifNoneExist, no match -> plain create; one match -> a PUT of the existing resource unchanged
 *   (a no-op update: 200 with the existing resource, its fullUrl rewritten to it); several -> 412;
 * - PUT Type?query, no match -> create (an id in the resource is an error, as in medplum); one match ->
 *   PUT Type/id; several -> 412.
 * Conditional DELETE and PATCH are left to processBatch.
 */
import { OperationOutcomeError, badRequest, multipleMatches, parseSearchRequest } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/**
 * Rewrites the conditional create/update entries of a transaction Bundle; call it inside the
 * transaction that will process the Bundle.
 * @param bundle - A Bundle of type transaction (not modified).
 * @param repo - The repository the transaction runs on.
 * @returns The Bundle with those entries made unconditional.
 */
export async function resolveConditionalEntries(bundle: Bundle, repo: FhirRepository): Promise<Bundle> {
  const seen = new Set<string>();
  const entry: BundleEntry[] = [];
  for (const [index, e] of (bundle.entry ?? []).entries()) {
    entry.push(await resolveEntry(e, `Bundle.entry[${index}]`, repo, seen));
  }
  return { ...bundle, entry };
}

async function resolveEntry(
  entry: BundleEntry,
  path: string,
  repo: FhirRepository,
  seen: Set<string>
): Promise<BundleEntry> {
  const request = entry.request;
  if (!request?.url) {
    return entry;
  }
  const url = request.url.replace(/^\/+/, '');
  const [type, query] = splitUrl(url);
  if (request.method === 'POST' && request.ifNoneExist && !query) {
    const condition = `${type}?${request.ifNoneExist}`;
    const match = await findOne(condition, path, repo, seen);
    if (!match) {
      const { ifNoneExist: _ifNoneExist, ...plain } = request;
      return { ...entry, request: plain };
    }
    return { ...entry, resource: match, request: { method: 'PUT', url: `${type}/${match.id}` } };
  }
  if (request.method === 'PUT' && query !== undefined) {
    const match = await findOne(url, path, repo, seen);
    if (!match) {
      if (entry.resource?.id) {
        throw new OperationOutcomeError(badRequest('Cannot provide ID for create by update', `${path}.resource.id`));
      }
      return { ...entry, request: { method: 'POST', url: type } };
    }
    const resource = entry.resource ? ({ ...entry.resource, id: match.id } as Resource) : undefined;
    return { ...entry, ...(resource ? { resource } : {}), request: { ...request, url: `${type}/${match.id}` } };
  }
  return entry;
}

function splitUrl(url: string): [string, string | undefined] {
  const q = url.indexOf('?');
  return q < 0 ? [url, undefined] : [url.slice(0, q), url.slice(q + 1)];
}

/** The single resource matching a conditional URL, undefined for none, 412 for several. */
async function findOne(
  conditionalUrl: string,
  path: string,
  repo: FhirRepository,
  seen: Set<string>
): Promise<Resource | undefined> {
  const search = parseSearchRequest(conditionalUrl);
  if (seen.has(conditionalUrl)) {
    // Two entries on one condition would both create, or both claim one resource.
    throw new OperationOutcomeError(badRequest('Duplicate conditional request in Bundle', `${path}.request`));
  }
  seen.add(conditionalUrl);
  search.count = 2;
  search.offset = 0;
  search.sortRules = undefined;
  const matches = await repo.searchResources(search);
  if (matches.length > 1) {
    throw new OperationOutcomeError(multipleMatches);
  }
  return matches[0];
}
