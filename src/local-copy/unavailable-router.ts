/**
 * `/fhir` where no copy can be kept: with DATABASE_URL several instances share one PostgreSQL store and
 * each sends part of the records, so a copy in one instance's DATA_DIR would hold only what that
 * instance happened to send (and answers would differ from instance to instance). Rather than serve a
 * partial, inconsistent copy, every /fhir request other than the operations mounted before this router
 * (`$viewdefinition-run` over inline `resource` parameters) answers 501 with an OperationOutcome saying
 * why and what to use instead.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { notImplemented, OperationOutcomeError } from '../outcomes.js';

/** The explanation given by every refused request and logged once at start. */
export function noCopyReason(target: string): string {
  return (
    `this service shares a PostgreSQL store (DATABASE_URL) between instances, so it keeps no local copy of what it sent to ${target}: ` +
    `/fhir (read, search, $export, $viewdefinition-export, $viewdefinition-run without resource parameters) is not offered; ` +
    `read from ${target} itself, or pass the resources inline to $viewdefinition-run`
  );
}

/**
 * @param target - The external target (FHIR_BASE_URL).
 * @returns An express Router to mount at /fhir, after the operation routers.
 */
export function noCopyRouter(target: string): express.Router {
  const router = express.Router();
  router.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new OperationOutcomeError(notImplemented(noCopyReason(target))));
  });
  return router;
}
