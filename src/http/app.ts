/**
 * The HTTP application: the inbound API at /api/v1 and the embedded FHIR server at /fhir (when this
 * instance hosts it), both behind bearer-token auth, with one error handler for everything.
 */
import express, { type Express, type Router } from 'express';
import { notFound } from '@medplum/core';
import type { Principal } from '../auth/principal.js';
import { consoleRouter } from '../console/router.js';
import { withTestPrincipals } from '../console/test-principals.js';
import type { Jwks } from '../fhir/auth/index.js';
import { Intake, type IntakeDeps } from '../intake/accept.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/port.js';
import { OperationOutcomeError } from '../outcomes.js';
import { errorHandler } from './error-handler.js';
import { requireBearer } from './middleware/auth.js';
import type { IntakeGate } from './middleware/intake-gate.js';
import { requestContext } from './middleware/request-context.js';
import type { ServiceMetrics } from '../metrics/index.js';
import { intakeObserver } from '../metrics/intake-observer.js';
import { metricsRouter } from '../metrics/router.js';
import { importRouter } from './routes/import.js';
import { jwksRouter } from './routes/jwks.js';
import { recordsRouter } from './routes/records.js';

export interface AppDeps {
  logger: Logger;
  apiTokens: readonly string[];
  /** The service's intake (group commit, import jobs); plain dependencies get an intake of their own. */
  intake: IntakeDeps | Intake;
  /** Reads of records and their sync state for the record routes. */
  store: Pick<Store, 'records' | 'status' | 'ledger'>;
  bodyLimitBytes: number;
  importLimitBytes: number;
  /** The embedded FHIR server's router, mounted at /fhir; absent when syncing to an external server. */
  fhirRouter?: Router;
  /** Extra /api/v1 routers (status and the like). */
  apiRouters?: Router[];
  /** Our public signing keys (SMART Backend Services), served at /.well-known/jwks.json without a token. */
  jwks?: Jwks;
  /** Routes that need no token and say nothing about data (/readyz). */
  publicRouters?: Router[];
  /** Prometheus metrics: GET /metrics, and the intake's counts. */
  metrics?: Pick<ServiceMetrics, 'registry' | 'intake'>;
  /** Closed while the service stops: writes answer 503 with Retry-After. */
  intakeGate?: IntakeGate;
  /** Tests only: tokens that authenticate as the given principals (console/test-principals.ts). */
  testPrincipals?: ReadonlyMap<string, Principal>;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(deps.logger));

  // Liveness only: says nothing about data, so it needs no token.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  if (deps.jwks) {
    app.use(jwksRouter(deps.jwks));
  }
  for (const r of deps.publicRouters ?? []) {
    app.use(r);
  }
  // The console's page and assets (no data in them; its API calls carry the signed-in credential).
  app.use(consoleRouter());

  const bearer = requireBearer(deps.apiTokens);
  const auth = deps.testPrincipals ? withTestPrincipals(bearer, deps.testPrincipals) : bearer;
  if (deps.metrics) {
    app.use(metricsRouter(deps.metrics.registry, auth));
  }
  const api = express.Router();
  if (deps.intakeGate) {
    api.use(deps.intakeGate.middleware());
  }
  if (deps.metrics) {
    api.use(intakeObserver(deps.metrics.intake));
  }
  const intake = Intake.of(deps.intake);
  api.use(importRouter(intake, { lineLimitBytes: deps.bodyLimitBytes, syncLimitBytes: deps.importLimitBytes }));
  for (const r of deps.apiRouters ?? []) {
    api.use(r);
  }
  api.use(recordsRouter(intake, deps.store, deps.bodyLimitBytes));
  app.use('/api/v1', auth, api);
  if (deps.fhirRouter) {
    app.use('/fhir', auth, deps.fhirRouter);
  }
  app.use((_req, _res, next) => next(new OperationOutcomeError(notFound)));
  app.use(errorHandler(deps.logger));
  return app;
}
