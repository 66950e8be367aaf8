/**
 * The HTTP application: the inbound API at /api/v1 and the embedded FHIR server at /fhir (when this
 * instance hosts it), with one error handler for everything.
 *
 * Every request passes, in this order: request id and access log (route pattern only), closing the
 * connection after an error answered before the body was read, security headers, the route table
 * lookup (auth/route-table.ts; a malformed path is a 400 here), the handler timeout, the access-audit
 * hook, authentication (401; failed attempts limited per address), the route table's role check (404/405/403: deny by default), the per-credential rate limit (429), MRN masking
 * for masked roles, then the routers. A router mounted here serves nothing until its routes have
 * entries in the route table (src/auth/README.md).
 */
import express, { type Express, type Router } from 'express';
import { notFound } from '@medplum/core';
import type { AccessAuditLog } from '../audit/access-audit-log.js';
import { createAuthenticator, type Authenticator } from '../auth/authenticator.js';
import { RouteAccess } from '../auth/route-access.js';
import type { Jwks } from '../fhir/auth/index.js';
import { Intake, type IntakeDeps } from '../intake/accept.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/port.js';
import { OperationOutcomeError } from '../outcomes.js';
import { consoleRouter } from '../console/router.js';
import type { ServiceMetrics } from '../metrics/index.js';
import { intakeObserver } from '../metrics/intake-observer.js';
import { metricsRouter } from '../metrics/router.js';
import { errorHandler } from './error-handler.js';
import type { IntakeGate } from './middleware/intake-gate.js';
import { accessAudit } from './middleware/access-audit.js';
import { authenticate } from './middleware/auth.js';
import { closeUnreadBody } from './middleware/close-unread-body.js';
import { handlerTimeout } from './middleware/handler-timeout.js';
import { phiMask } from './middleware/phi-mask.js';
import { AuthFailureLimiter, credentialRateLimit, type RateLimitSettings } from './middleware/rate-limits.js';
import { requestContext } from './middleware/request-context.js';
import { authorize, resolveRoute } from './middleware/route-guard.js';
import { securityHeaders } from './middleware/security-headers.js';
import { importRouter } from './routes/import.js';
import { jwksRouter } from './routes/jwks.js';
import { recordsRouter } from './routes/records.js';

export interface AppDeps {
  logger: Logger;
  /** Tokens acting as admin; used when no `authenticator` is given (tests, the single-user setup). */
  apiTokens: readonly string[];
  /** The service's intake (group commit, import jobs); plain dependencies get an intake of their own. */
  intake: IntakeDeps | Intake;
  /** Reads of records and their sync state for the record routes. */
  store: Pick<Store, 'records' | 'status' | 'ledger'>;
  bodyLimitBytes: number;
  importLimitBytes: number;
  /** The embedded FHIR server's router, mounted at /fhir; absent when syncing to an external server. */
  fhirRouter?: Router;
  /** Operation routers mounted at /fhir before the FHIR server ($export, $viewdefinition-run and the like), behind the same auth. */
  fhirOperationRouters?: Router[];
  /** Extra /api/v1 routers (status and the like). */
  apiRouters?: Router[];
  /** Our public signing keys (SMART Backend Services); an empty set is served when absent. */
  jwks?: Jwks;
  /** Bearer token -> principal (auth/authenticator.ts); default: apiTokens as admin. */
  authenticator?: Authenticator;
  /** Request limits; defaults as in auth/settings.ts. */
  limits?: RateLimitSettings;
  /** HTTP_HANDLER_TIMEOUT_MS; 0 = off (default). */
  handlerTimeoutMs?: number;
  /** TRUST_PROXY: express's `trust proxy`, so req.ip is the client behind a reverse proxy. Default false. */
  trustProxy?: boolean | number | string;
  /** Where calls that read or change PHI are recorded; absent = not audited (unit tests only). */
  accessAudit?: { log: AccessAuditLog; ns: string; mrnSystem: string };
  /** The route table; default ROUTE_TABLE. */
  routeAccess?: RouteAccess;
  /** Routes that say nothing about data (/readyz); public in the route table. */
  publicRouters?: Router[];
  /** Prometheus metrics: GET /metrics, and the intake's counts. */
  metrics?: Pick<ServiceMetrics, 'registry' | 'intake'>;
  /** Closed while the service stops: writes answer 503 with Retry-After. */
  intakeGate?: IntakeGate;
}

const DEFAULT_LIMITS: RateLimitSettings = { perCredentialPerMinute: 6000, authFailureLimit: 20, authFailureWindowMs: 15 * 60_000 };

/** The express app (its limiter's timers are unref'd: nothing to stop). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? false);
  const access = deps.routeAccess ?? new RouteAccess();
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const failures = new AuthFailureLimiter(limits);

  app.use(requestContext(deps.logger));
  app.use(closeUnreadBody);
  app.use(securityHeaders());
  app.use(resolveRoute(access));
  app.use(handlerTimeout(deps.handlerTimeoutMs ?? 0));
  if (deps.accessAudit) {
    app.use(accessAudit(deps.accessAudit));
  }
  app.use(authenticate(deps.authenticator ?? createAuthenticator({ adminTokens: deps.apiTokens }), failures));
  app.use(authorize(access));
  app.use(credentialRateLimit(limits));
  app.use(phiMask);

  // Liveness only: says nothing about data.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Public by design (the EHR fetches it without credentials); an empty set unless SMART Backend Services.
  app.use(jwksRouter(deps.jwks ?? { keys: [] }));
  for (const r of deps.publicRouters ?? []) {
    app.use(r);
  }
  // The console's page and assets (no data in them; its API calls carry the signed-in credential).
  app.use(consoleRouter());
  if (deps.metrics) {
    app.use(metricsRouter(deps.metrics.registry));
  }

  // Mounted on the app (not inside the API router), so they are no catch-all of /api/v1: they answer
  // nothing themselves but the shutdown's 503, and only after the route guard admitted the request.
  if (deps.intakeGate) {
    app.use('/api/v1', deps.intakeGate.middleware());
  }
  if (deps.metrics) {
    app.use('/api/v1', intakeObserver(deps.metrics.intake));
  }
  const api = express.Router();
  const intake = Intake.of(deps.intake);
  api.use(importRouter(intake, { lineLimitBytes: deps.bodyLimitBytes, syncLimitBytes: deps.importLimitBytes }));
  for (const r of deps.apiRouters ?? []) {
    api.use(r);
  }
  api.use(recordsRouter(intake, deps.store, deps.bodyLimitBytes));
  app.use('/api/v1', api);
  // Operations first ($viewdefinition-run, $export...), then the FHIR server: authentication and roles
  // come from the route table above, as for every route.
  const fhirRoutes = [...(deps.fhirOperationRouters ?? []), ...(deps.fhirRouter ? [deps.fhirRouter] : [])];
  if (fhirRoutes.length > 0) {
    app.use('/fhir', ...fhirRoutes);
  }
  app.use((_req, _res, next) => next(new OperationOutcomeError(notFound)));
  app.use(errorHandler(deps.logger));
  return app;
}
