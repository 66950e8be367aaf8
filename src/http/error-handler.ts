/**
 * The one place errors become HTTP responses: every error is normalized to a FHIR OperationOutcome
 * (@medplum/core), failures reading the request (body-parser, undecodable paths) are mapped
 * explicitly (middleware/body-errors.ts), stack traces and library messages are never sent.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import { httpStatusFor, toOutcome as outcomeOf } from '../outcomes.js';
import { requestReadOutcome } from './middleware/body-errors.js';
import { inputValues, redactEchoes } from './middleware/echo-guard.js';

/** The outcome for an error; any value of the request that a message quotes is replaced (echo-guard.ts). */
function toOutcome(err: unknown, req: Request): OperationOutcome {
  const outcome = requestReadOutcome(err, !!req.headers['content-encoding']) ?? outcomeOf(err);
  return redactEchoes(outcome, inputValues(req.body, req.query as Record<string, unknown>));
}

/** Sends an OperationOutcome with the right status and the request id. */
export function sendOutcome(res: Response, outcome: OperationOutcome): void {
  const status = httpStatusFor(outcome);
  res
    .status(status)
    .type('application/fhir+json')
    .json({
      ...outcome,
      extension: [{ url: 'https://collateral-fhir.dev/fhir/StructureDefinition/request-id', valueString: res.locals.requestId }],
    });
}

export function errorHandler(fallbackLogger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const outcome = toOutcome(err, req);
    const status = httpStatusFor(outcome);
    const logger: Logger = res.locals.logger ?? fallbackLogger;
    const meta = { status, outcome: outcome.id, codes: (outcome.issue ?? []).map((i) => i.code) };
    if (res.headersSent) {
      // Already answered (a handler that ran past its timeout, a client gone mid-stream): nothing to send.
      if (!res.locals.timedOut) {
        logger.warn('error after the answer was sent', { ...meta, error: err instanceof Error ? err.name : typeof err });
      }
      return;
    }
    if (status >= 500) {
      logger.error('request failed', { ...meta, error: err instanceof Error ? err.name : typeof err });
    } else {
      logger.warn('request rejected', meta);
    }
    sendOutcome(res, outcome);
  };
}
