/**
 * Where a restricted target profile is enforced in the embedded server's HTTP layer:
 * - profileGuard: express middleware in front of the FHIR router; refuses a top-level request with the
 *   profile's status (404/405 + Allow/400, see profile-rules.ts) before anything is read or written.
 * - ProfiledFhirRouter: runs a batch entry by entry, so each entry is checked like a top-level request
 *   and a refused entry gets its own error response while the others proceed (batch semantics). The
 *   check must see the entry as sent: medplum's batch pre-processing rewrites a matched conditional
 *   update into `PUT Type/id`, which would hide it from a check done later.
 */
import { allOk, getStatus } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRepository, FhirRequest, FhirResponse } from '@medplum/fhir-router';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FhirServerLogger } from './http.js';
import type { ExistsFn } from './profile-rules.js';
import { checkRequest } from './profile-rules.js';
import type { RestrictedProfile } from './target-profiles.js';

function existsIn(repo: FhirRepository): ExistsFn {
  return (type, id) => repo.readResource(type, id).then(
    () => true,
    () => false
  );
}

function isBundle(body: unknown): body is Bundle {
  return (body as Partial<Bundle> | undefined)?.resourceType === 'Bundle';
}

/**
 * Express middleware that refuses what the profile does not offer.
 * @param profile - The restricted profile.
 * @param repo - The repository (to tell an update from an update-as-create).
 * @param logger - Gets one warning per refusal: status, method and resource type, never the URL.
 * @returns The middleware; mount it after the body parsers and /metadata, before the FHIR handler.
 */
export function profileGuard(profile: RestrictedProfile, repo: FhirRepository, logger?: FhirServerLogger): RequestHandler {
  const exists = existsIn(repo);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const body: unknown = req.body;
    const isSearchForm = /\/_search\/?$/.test(req.path) && typeof body === 'object' && body !== null;
    const refusal = await checkRequest(
      profile,
      {
        method: req.method,
        url: req.url,
        ifNoneExist: req.header('if-none-exist'),
        formParams: isSearchForm ? (body as Record<string, unknown>) : undefined,
        bundleType: isBundle(body) ? body.type : undefined,
      },
      exists
    );
    if (!refusal) {
      next();
      return;
    }
    logger?.warn('FHIR request refused by the target profile', {
      profile: profile.name,
      status: refusal.status,
      method: req.method,
      resourceType: /^\/*([A-Za-z]*)/.exec(req.path)?.[1] || undefined,
    });
    if (refusal.allow) {
      res.setHeader('Allow', refusal.allow.join(', '));
    }
    res.status(refusal.status).type('application/fhir+json').send(JSON.stringify(refusal.outcome));
  };
}

/** medplum's FhirRouter with batch entries checked one by one against the profile. */
export class ProfiledFhirRouter extends FhirRouter {
  private readonly profile: RestrictedProfile;

  constructor(profile: RestrictedProfile) {
    super();
    this.profile = profile;
  }

  override async handleRequest(req: FhirRequest, repo: FhirRepository): Promise<FhirResponse> {
    const body: unknown = req.body;
    const isBatch = req.method === 'POST' && /^\/*(\?|$)/.test(req.url) && isBundle(body) && body.type === 'batch';
    if (!isBatch || !body.entry?.length) {
      return super.handleRequest(req, repo);
    }
    const exists = existsIn(repo);
    const entries: BundleEntry[] = [];
    // In order, one at a time: batch entries are independent, and SQLite serialises writes anyway.
    for (const entry of body.entry) {
      entries.push(await this.batchEntry(req, entry, repo, exists));
    }
    return [allOk, { resourceType: 'Bundle', type: 'batch-response', entry: entries }];
  }

  private async batchEntry(req: FhirRequest, entry: BundleEntry, repo: FhirRepository, exists: ExistsFn): Promise<BundleEntry> {
    const r = entry.request;
    if (r?.method && r.url) {
      const refusal = await checkRequest(this.profile, { method: r.method, url: r.url, ifNoneExist: r.ifNoneExist }, exists);
      if (refusal) {
        return { response: { status: String(refusal.status), outcome: refusal.outcome } };
      }
    }
    // A one-entry batch reuses medplum's entry handling (conditional headers, PATCH bodies, errors).
    const single: Bundle = { resourceType: 'Bundle', type: 'batch', entry: [entry] };
    const [outcome, result] = await super.handleRequest({ ...req, body: single }, repo);
    const answered = (result as Bundle | undefined)?.entry?.[0];
    return answered ?? { response: { status: String(getStatus(outcome)), outcome } };
  }
}
