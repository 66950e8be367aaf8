/**
 * The FHIR REST API of the embedded server: an express Router (mounted at /fhir by the app) that hands
 * every request to medplum's FhirRouter over the SQLite repository, and shapes the answers for HTTP.
 *
 * Hostile input (issue #10) stops here with a 400 naming the problem, never a 5xx or a JavaScript
 * message: bodies nesting deeper than 64 levels or carrying `__proto__`/`constructor`/`prototype` keys
 * (http/middleware/json-shape.ts), malformed batch and transaction entries and PATCH bodies
 * (request-checks.ts), undecodable or unsupported bodies (http/middleware/body-errors.ts). Error texts
 * never quote the request's values (http/middleware/echo-guard.ts). When the app's route guard put a
 * `checkBundleEntries` on res.locals, every entry of a batch or transaction is authorized like the
 * request it stands for.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { badRequest } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRequest, FhirResponse, HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { checkJsonShape } from '../http/middleware/json-shape.js';
import { requestReadOutcome } from '../http/middleware/body-errors.js';
import type { BundleEntryCheck } from '../http/middleware/route-guard.js';
import { accessDenied, httpStatusFor, inputInvalid, toOutcome, type Problem } from '../outcomes.js';
import { bundleProblems, patchProblems, resourceProblems } from './request-checks.js';
import { safeAnswer } from './safe-answer.js';
import { capabilityStatement } from './capability.js';
import { ProfiledFhirRouter, profileGuard } from './profile-enforcement.js';
import { restrictCapability } from './profile-capability.js';
import type { HttpAnswer, RequestContext } from './responses.js';
import { toHttpAnswer } from './responses.js';
import type { SqliteFhirRepository } from './sqlite-repository.js';
import { queryOf, routeFhirRequest } from './dispatch.js';
import { validateOperationRouter } from './validate-operation.js';
import type { TargetProfile } from './target-profiles.js';
import { isRestricted } from './target-profiles.js';
import type { MedplumLikeRuntime } from './medplum-like.js';
import { medplumRuntimeFor } from './medplum-like.js';

/** Where the embedded server reports problems. Never given resource bodies or query strings (PHI). */
export interface FhirServerLogger {
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

/** Options of createFhirHttpRouter. */
export interface FhirHttpRouterOptions {
  repo: SqliteFhirRepository;
  /** The public base URL of the FHIR API (…/fhir), read per request for fullUrl, Location and links. */
  baseUrl: () => string;
  logger?: FhirServerLogger;
  /** What the server accepts (target-profiles.ts); undefined = full, everything. */
  profile?: TargetProfile;
  /** The state of a medplum-like server (medplum-like.ts); created when the profile needs one and none is given. */
  medplum?: MedplumLikeRuntime;
}

const BODY_LIMIT = '20mb';
const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json'];
const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Creates the FHIR R4 REST router: CRUD, vread, history, search, conditional create/update/delete,
 * JSON Patch, batch and (atomic) transaction Bundles, and GET /metadata.
 * @param options - The repository, the base URL and an optional logger.
 * @returns An express Router to mount at /fhir.
 */
export function createFhirHttpRouter(options: FhirHttpRouterOptions): express.Router {
  const { repo, logger } = options;
  const { profile } = options;
  const fhirRouter = isRestricted(profile) ? new ProfiledFhirRouter(profile) : new FhirRouter();
  const medplum = medplumRuntimeFor(profile, options.medplum);
  const router = express.Router();

  router.use(express.json({ type: JSON_TYPES, limit: BODY_LIMIT }));
  // POST Type/_search carries its parameters as a form.
  router.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  router.use(checkJsonShape);

  router.get('/metadata', (_req, res) => {
    const full = capabilityStatement(base(options));
    const body = medplum ? medplum.capability(full) : isRestricted(profile) ? restrictCapability(full, profile) : full;
    send(res, { status: 200, headers: {}, body });
  });

  // $validate against our profile pack: reads nothing and writes nothing, so no target profile restricts it.
  router.use(validateOperationRouter());

  if (isRestricted(profile)) {
    router.use(profileGuard(profile, repo, logger));
  }

  router.use(async (req: Request, res: Response) => {
    const ctx: RequestContext = { base: base(options), url: req.url };
    let answer: HttpAnswer;
    try {
      const refused = checkRequest(req, res.locals.checkBundleEntries as BundleEntryCheck | undefined);
      const [outcome, resource] = refused ? [refused] : await handle(req, fhirRouter, repo, medplum && { runtime: medplum, res });
      answer = medplum ? medplum.answer(outcome, resource, ctx) : toHttpAnswer(outcome, resource, ctx);
    } catch (err) {
      answer = toHttpAnswer(toOutcome(err), undefined, ctx);
    }
    send(res, report(logger, req, answer));
  });

  // Failures reading the request (malformed JSON, too large, undecodable, bad charset, a client gone
  // mid-body) and the shape check arrive here.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const outcome = requestReadOutcome(err, !!req.headers['content-encoding']) ?? toOutcome(err);
    send(res, report(logger, req, { status: httpStatusFor(outcome), headers: {}, body: outcome }));
  });

  return router;
}

/**
 * The body checks that need no data: a refusal (400 with every problem, or 403 for Bundle entries the
 * caller may not run), or undefined to go on.
 */
function checkRequest(req: Request, checkEntries: BundleEntryCheck | undefined): OperationOutcome | undefined {
  const method = req.method;
  const body: unknown = req.body;
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
    return undefined;
  }
  if (!isJsonBody(body)) {
    // A form is a body only for POST Type/_search.
    return /\/_search\/?$/.test(req.path) ? undefined : badRequest('The request body must be FHIR JSON (Content-Type: application/fhir+json)');
  }
  const segments = req.path.split('/').filter(Boolean);
  const problems: Problem[] = [];
  if (method === 'PATCH') {
    problems.push(...patchProblems(body));
  } else if (segments.length === 0 && method === 'POST') {
    problems.push(...resourceProblems(body, undefined, 'Bundle'));
    if (problems.length === 0 && isBatchOrTransaction(body)) {
      problems.push(...bundleProblems(body as unknown as Record<string, unknown>));
      if (problems.length === 0 && checkEntries) {
        const denied = checkEntries(((body as Bundle).entry ?? []).map((e) => ({ method: e.request?.method ?? '', url: e.request?.url ?? '' })));
        if (denied.length > 0) {
          return accessDenied(denied.map((d) => `Bundle.entry[${d.index}]: ${d.message}`).join('; '));
        }
      }
    }
  } else if (segments.length <= 2 && !segments.some((s) => s.startsWith('$') || s.startsWith('_'))) {
    problems.push(...resourceProblems(body, segments[0], segments[0] ?? 'Resource'));
  }
  return problems.length > 0 ? inputInvalid(problems) : undefined;
}

function isBatchOrTransaction(body: unknown): boolean {
  const t = (body as Partial<Bundle>).type;
  return (body as Partial<Bundle>).resourceType === 'Bundle' && (t === 'batch' || t === 'transaction');
}

async function handle(
  req: Request,
  fhirRouter: FhirRouter,
  repo: SqliteFhirRepository,
  medplum?: { runtime: MedplumLikeRuntime; res: Response }
): Promise<FhirResponse> {
  // HEAD is answered like GET; express leaves the body out.
  const method = (req.method === 'HEAD' ? 'GET' : req.method) as HttpMethod;
  if (!METHODS.has(method)) {
    return [badRequest('Unsupported method')];
  }
  const body: unknown = req.body;
  const fhirReq: FhirRequest = {
    method,
    url: req.url,
    pathname: '',
    params: {},
    query: queryOf(req.url),
    body,
    headers: req.headers,
    config: { transactions: true },
  };
  if (medplum) {
    // medplum-like: medplum's own batch/transaction semantics, quota, scopes (medplum-transactions.ts).
    return medplum.runtime.handle(fhirReq, fhirRouter, repo, medplum.res);
  }
  return routeFhirRequest(fhirReq, fhirRouter, repo);
}

function isJsonBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null;
}

function base(options: FhirHttpRouterOptions): string {
  return options.baseUrl().replace(/\/+$/, '');
}

/**
 * Logs a failed request by status, method and resource type only (paths and queries can carry
 * identifiers, bodies carry PHI). A 5xx's diagnostics go to the log and are removed from the answer.
 */
function report(logger: FhirServerLogger | undefined, req: Request, given: HttpAnswer): HttpAnswer {
  const answer = safeAnswer(req, given, logger);
  if (answer.status < 400 || answer.body.resourceType !== 'OperationOutcome') {
    return answer;
  }
  const body = answer.body;
  const meta = {
    status: answer.status,
    method: req.method,
    resourceType: /^\/*([A-Za-z]*)/.exec(req.path)?.[1] || undefined,
    codes: body.issue?.map((i) => i.code),
  };
  if (answer.status < 500) {
    logger?.warn('FHIR request rejected', meta);
    return answer;
  }
  logger?.error('FHIR request failed', { ...meta, diagnostics: body.issue?.map((i) => i.diagnostics).filter(Boolean) });
  return { ...answer, body: { ...body, issue: body.issue?.map(({ diagnostics: _d, ...issue }) => issue) } };
}

function send(res: Response, answer: HttpAnswer): void {
  // The access audit names what was read or written (ids and types; never stored beyond that).
  res.locals.fhirAnswer = answer.body;
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) {
    res.setHeader(name, value);
  }
  res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.send(JSON.stringify(answer.body));
}
