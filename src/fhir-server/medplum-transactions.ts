/**
 * How the `medplum-like` server handles a request: with medplum's own FhirRouter and batch processor
 * (@medplum/fhir-router 4.5.2, packages/fhir-router/src/batch.ts), over a MedplumLikeRepository, with
 * `config.transactions` set as medplum's server sets it: true only with the project feature
 * `transaction-bundles` (routes.ts: `transactions: project.features?.includes('transaction-bundles')`).
 *
 * Without the feature (the default) a `transaction` Bundle is processed exactly like a batch:
 * - ids are assigned to every create entry, and each urn:uuid fullUrl is mapped to its `Type/id`,
 *   BEFORE any entry runs; references are rewritten with that map;
 * - entries run one by one (deletes, creates, updates, patches, then reads), each committed alone;
 * - an entry that fails gets its own `response.status` and `outcome`; the others are kept; the HTTP
 *   status is 200 and the Bundle is a `transaction-response`;
 * - a 429 ends the processing: that entry and every later one answer 429.
 * So an entry referencing a failed create (a Provenance whose target is the urn:uuid of an Encounter
 * refused with 403) is written with a reference to an id that will never exist.
 *
 * With the feature, medplum's limits apply to the Bundle as sent (400 "Transaction requires strict
 * isolation but has too many entries" for more than 8 entries when any is conditional; 400 for more than
 * 50 updates) and any failing entry fails the whole transaction with that entry's status. Here the whole
 * processing also runs in one SQLite transaction, so nothing can change between medplum resolving the
 * conditional entries and writing them (on medplum, serializable isolation plays that part).
 */
import { OperationOutcomeError, isOk } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';
import type { Response } from 'express';
import { httpStatusFor, toOutcome } from '../outcomes.js';
import type { MedplumGrant, MedplumLikeRuntime } from './medplum-like.js';
import { MedplumLikeRepository } from './medplum-repository.js';
import { accessForScope } from './medplum-scopes.js';
import type { SqliteFhirRepository } from './sqlite-repository.js';

/** Where the bearer check (medplum-oauth.ts) leaves the grant of the request's token. */
export const GRANT_LOCAL = 'medplumGrant';

/**
 * Handles one request of the API side.
 * @param runtime - The server's medplum-like state.
 * @param fhirReq - The request for medplum's router.
 * @param fhirRouter - medplum's router (unrestricted).
 * @param repo - The server's repository.
 * @param res - The express response (locals carry the grant; quota headers are set on it).
 * @returns medplum's answer.
 */
export async function handleMedplumRequest(
  runtime: MedplumLikeRuntime,
  fhirReq: FhirRequest,
  fhirRouter: FhirRouter,
  repo: SqliteFhirRepository,
  res: Response
): Promise<FhirResponse> {
  const grant = res.locals[GRANT_LOCAL] as MedplumGrant | undefined;
  const client = grant?.clientId ?? 'anonymous';
  const scoped = new MedplumLikeRepository(repo, {
    client,
    access: accessForScope(grant?.scope),
    quota: runtime.quota,
    faults: runtime.faults,
    onRefused: (status) => runtime.recordRefusal(status),
  });
  const atomic = runtime.atomicTransactions;
  const req: FhirRequest = { ...fhirReq, config: { ...fhirReq.config, transactions: atomic } };
  const result = atomic && isTransactionPost(req) ? await atomically(req, fhirRouter, repo, scoped) : await fhirRouter.handleRequest(req, scoped);
  setQuotaHeaders(runtime, client, httpStatusFor(result[0]), res);
  return result;
}

async function atomically(
  req: FhirRequest,
  fhirRouter: FhirRouter,
  repo: SqliteFhirRepository,
  scoped: MedplumLikeRepository
): Promise<FhirResponse> {
  try {
    return await repo.withTransaction(async () => {
      const result = await fhirRouter.handleRequest(req, scoped);
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

function isTransactionPost(req: FhirRequest): boolean {
  const body = req.body as Partial<Bundle> | undefined;
  return req.method === 'POST' && /^\/*(\?|$)/.test(req.url) && body?.resourceType === 'Bundle' && body.type === 'transaction';
}

/**
 * medplum's `RateLimit: "fhirInteractions";r=<remaining>;t=<seconds>` on every answer while a quota
 * applies, and (unless switched off) `Retry-After` on a top-level 429 so a client knows when to come back.
 */
function setQuotaHeaders(runtime: MedplumLikeRuntime, client: string, status: number, res: Response): void {
  const state = runtime.quota.state(client);
  if (!state) {
    return;
  }
  const seconds = Math.ceil(state.resetInMs / 1000);
  res.setHeader('RateLimit', `"fhirInteractions";r=${state.remaining};t=${seconds}`);
  if (status === 429 && runtime.retryAfterHeader) {
    res.setHeader('Retry-After', String(Math.max(seconds, 1)));
  }
}
