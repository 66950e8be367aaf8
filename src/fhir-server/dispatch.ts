/**
 * How the embedded server hands one FHIR request to medplum's FhirRouter, without the HTTP around it:
 * a transaction Bundle runs inside the repository's transaction with its conditional entries resolved
 * first (transaction-prep.ts); everything else goes to the router as it is. `http.ts` calls this for
 * every request of the full and restricted profiles, and the in-memory target (src/fhir/memory-target.ts)
 * calls it for every call, so both route a request the same way.
 */
import { OperationOutcomeError, isOk, preconditionFailed } from '@medplum/core';
import type { FhirRepository, FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';
import { toOutcome } from '../outcomes.js';
import { resolveConditionalEntries } from './transaction-prep.js';

/**
 * Answers one FHIR request with medplum's router over `repo`.
 * @param fhirReq - The request (url relative to the base, with its query; `config.transactions` on).
 * @param fhirRouter - medplum's router (or a profiled one).
 * @param repo - The repository the request reads and writes.
 * @returns medplum's `[outcome, resource?]`; a failure is an outcome, never a throw.
 */
export async function routeFhirRequest(fhirReq: FhirRequest, fhirRouter: FhirRouter, repo: FhirRepository): Promise<FhirResponse> {
  if (fhirReq.method === 'POST' && isTransactionBundle(fhirReq.body) && /^\/*(\?|$)/.test(fhirReq.url)) {
    return runTransaction(fhirReq, fhirReq.body, fhirRouter, repo);
  }
  const patchIfMatch = fhirReq.method === 'PATCH' ? versionOfIfMatch(fhirReq.headers?.['if-match']) : undefined;
  if (patchIfMatch !== undefined) {
    return runGuardedPatch(fhirReq, patchIfMatch, fhirRouter, repo);
  }
  return fhirRouter.handleRequest(fhirReq, repo);
}

/** The version an `If-Match` header names (`W/"3"` or `"3"`), or undefined without one. */
function versionOfIfMatch(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value ? (/^(?:W\/)?"([^"]+)"$/.exec(value.trim())?.[1] ?? value.trim()) : undefined;
}

/**
 * PATCH Type/id with If-Match: medplum's router (4.5.2) never reads If-Match on PATCH, so a stale patch
 * would be applied over someone else's change. The version is checked here, in the same repository
 * transaction as the patch, and a stale one answered 412 as the FHIR spec asks (the sync's guarded
 * PATCH relies on it). A missing resource is left to the router (404). Only the REST interaction: a
 * PATCH entry inside a batch or transaction Bundle is routed by medplum as before.
 */
async function runGuardedPatch(fhirReq: FhirRequest, version: string, fhirRouter: FhirRouter, repo: FhirRepository): Promise<FhirResponse> {
  const match = /^\/*([A-Za-z]+)\/([^/?]+)$/.exec(fhirReq.url);
  if (!match) {
    return fhirRouter.handleRequest(fhirReq, repo);
  }
  try {
    return await repo.withTransaction(async () => {
      const current = await repo.readResource(match[1], decodeURIComponent(match[2])).catch(() => undefined);
      if (current && current.meta?.versionId !== version) {
        return [preconditionFailed] as FhirResponse;
      }
      return fhirRouter.handleRequest(fhirReq, repo);
    });
  } catch (err) {
    return [toOutcome(err)];
  }
}

/**
 * The query of a request URL as medplum's router expects it: one string per parameter, an array when
 * the parameter is repeated.
 * @param url - The URL relative to the base (`/Patient?identifier=…`).
 * @returns The parameters (a prototype-less object).
 */
export function queryOf(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const query: Record<string, string | string[]> = Object.create(null);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}

/**
 * A transaction Bundle runs entirely inside one repository transaction, conditional entries resolved
 * first (see transaction-prep.ts). A failure anywhere rolls everything back, where the repository can
 * roll back (SQLite can; medplum's MemoryRepository cannot, see memory-target.ts).
 */
async function runTransaction(fhirReq: FhirRequest, bundle: Bundle, fhirRouter: FhirRouter, repo: FhirRepository): Promise<FhirResponse> {
  try {
    return await repo.withTransaction(async () => {
      const resolved = await resolveConditionalEntries(bundle, repo);
      const result = await fhirRouter.handleRequest({ ...fhirReq, body: resolved }, repo);
      if (!isOk(result[0])) {
        // handleRequest reports failures as a value; throwing makes withTransaction roll back.
        throw new OperationOutcomeError(result[0]);
      }
      return result;
    });
  } catch (err) {
    return [toOutcome(err)];
  }
}

function isTransactionBundle(body: unknown): body is Bundle {
  const b = body as Partial<Bundle>;
  return b?.resourceType === 'Bundle' && b.type === 'transaction';
}
