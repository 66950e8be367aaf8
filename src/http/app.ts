/**
 * The HTTP application: the inbound API at /api/v1 and the embedded FHIR server at /fhir (when this
 * instance hosts it), both behind bearer-token auth, with one error handler for everything.
 */
import express, { type Express, type Router } from 'express';
import { notFound } from '@medplum/core';
import type { Jwks } from '../fhir/auth/index.js';
import { Intake, type IntakeDeps } from '../intake/accept.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/port.js';
import { OperationOutcomeError } from '../outcomes.js';
import { errorHandler } from './error-handler.js';
import { requireBearer } from './middleware/auth.js';
import { requestContext } from './middleware/request-context.js';
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
  /** Operation routers mounted at /fhir before the FHIR server ($export, $viewdefinition-run and the like), behind the same auth. */
  fhirOperationRouters?: Router[];
  /** Extra /api/v1 routers (status and the like). */
  apiRouters?: Router[];
  /** Our public signing keys (SMART Backend Services), served at /.well-known/jwks.json without a token. */
  jwks?: Jwks;
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

  const auth = requireBearer(deps.apiTokens);
  const api = express.Router();
  const intake = Intake.of(deps.intake);
  api.use(importRouter(intake, { lineLimitBytes: deps.bodyLimitBytes, syncLimitBytes: deps.importLimitBytes }));
  for (const r of deps.apiRouters ?? []) {
    api.use(r);
  }
  api.use(recordsRouter(intake, deps.store, deps.bodyLimitBytes));
  app.use('/api/v1', auth, api);
  const fhirRoutes = [...(deps.fhirOperationRouters ?? []), ...(deps.fhirRouter ? [deps.fhirRouter] : [])];
  if (fhirRoutes.length > 0) {
    app.use('/fhir', auth, ...fhirRoutes);
  }
  app.use((_req, _res, next) => next(new OperationOutcomeError(notFound)));
  app.use(errorHandler(deps.logger));
  return app;
}
