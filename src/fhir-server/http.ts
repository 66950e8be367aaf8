/**
 * The FHIR REST API of the embedded server: an express Router (mounted at /fhir by the app) that hands
 * every request to medplum's FhirRouter over the SQLite repository, and shapes the answers for HTTP.
 */
import { STATUS_CODES } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { OperationOutcomeError, badRequest, isOk } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRequest, FhirResponse, HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { internalError, tooLarge, toOutcome } from '../outcomes.js';
import { capabilityStatement } from './capability.js';
import { ProfiledFhirRouter, profileGuard } from './profile-enforcement.js';
import { restrictCapability } from './profile-capability.js';
import type { HttpAnswer, RequestContext } from './responses.js';
import { toHttpAnswer } from './responses.js';
import type { SqliteFhirRepository } from './sqlite-repository.js';
import { resolveConditionalEntries } from './transaction-prep.js';
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
      const [outcome, resource] = await handle(req, fhirRouter, repo, medplum && { runtime: medplum, res });
      answer = medplum ? medplum.answer(outcome, resource, ctx) : toHttpAnswer(outcome, resource, ctx);
    } catch (err) {
      answer = toHttpAnswer(toOutcome(err), undefined, ctx);
    }
    send(res, report(logger, req, answer));
  });

  // Body-parser failures (malformed JSON, too large, bad charset) arrive here.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    send(res, report(logger, req, bodyParserAnswer(err)));
  });

  return router;
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
    return [badRequest(`Unsupported method ${req.method}`)];
  }
  const body: unknown = req.body;
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !isJsonBody(body)) {
    return [badRequest('The request body must be FHIR JSON (Content-Type: application/fhir+json)')];
  }
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
  if (method === 'POST' && isTransactionBundle(body) && /^\/*(\?|$)/.test(req.url)) {
    return runTransaction(fhirReq, body, fhirRouter, repo);
  }
  return fhirRouter.handleRequest(fhirReq, repo);
}

/**
 * A transaction Bundle runs entirely inside one SQLite transaction, conditional entries resolved first
 * (see transaction-prep.ts). A failure anywhere rolls everything back.
 */
async function runTransaction(
  fhirReq: FhirRequest,
  bundle: Bundle,
  fhirRouter: FhirRouter,
  repo: SqliteFhirRepository
): Promise<FhirResponse> {
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

function isJsonBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null;
}

function isTransactionBundle(body: unknown): body is Bundle {
  const b = body as Partial<Bundle>;
  return b?.resourceType === 'Bundle' && b.type === 'transaction';
}

function queryOf(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const query: Record<string, string | string[]> = Object.create(null);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}

function base(options: FhirHttpRouterOptions): string {
  return options.baseUrl().replace(/\/+$/, '');
}

interface BodyParserError {
  type?: string;
  status?: number;
}

function bodyParserAnswer(err: unknown): HttpAnswer {
  const e = (err ?? {}) as BodyParserError;
  switch (e.type) {
    case 'entity.parse.failed':
      return outcomeAnswer(400, badRequest('The request body is not valid JSON'));
    case 'entity.too.large':
      return outcomeAnswer(413, tooLarge(BODY_LIMIT));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return outcomeAnswer(415, badRequest('Unsupported body encoding or charset'));
    default:
      return e.status && e.status >= 400 && e.status < 500
        ? outcomeAnswer(e.status, badRequest(STATUS_CODES[e.status] ?? 'Bad request'))
        : outcomeAnswer(500, internalError());
  }
}

function outcomeAnswer(status: number, body: OperationOutcome): HttpAnswer {
  return { status, headers: {}, body };
}

/**
 * Logs a failed request by status, method and resource type only (paths and queries can carry
 * identifiers, bodies carry PHI). A 5xx's diagnostics go to the log and are removed from the answer.
 */
function report(logger: FhirServerLogger | undefined, req: Request, answer: HttpAnswer): HttpAnswer {
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
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) {
    res.setHeader(name, value);
  }
  res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.send(JSON.stringify(answer.body));
}
