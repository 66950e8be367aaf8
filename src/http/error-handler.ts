/**
 * The one place errors become HTTP responses: every error is normalized to a FHIR OperationOutcome
 * (@medplum/core), body-parser failures are mapped explicitly, stack traces are never sent.
 */
import { badRequest } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import { httpStatusFor, toOutcome as outcomeOf, tooLarge } from '../outcomes.js';

interface BodyParserError {
  type?: string;
  limit?: number;
}

function toOutcome(err: unknown): OperationOutcome {
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.parse.failed') {
    return badRequest('The request body is not valid JSON');
  }
  if (bp?.type === 'entity.too.large') {
    return tooLarge(`${bp.limit} bytes`);
  }
  if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported') {
    return badRequest('Unsupported body encoding or charset');
  }
  return outcomeOf(err);
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
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const outcome = toOutcome(err);
    const status = httpStatusFor(outcome);
    const logger: Logger = res.locals.logger ?? fallbackLogger;
    const meta = { status, outcome: outcome.id, codes: (outcome.issue ?? []).map((i) => i.code) };
    if (status >= 500) {
      logger.error('request failed', { ...meta, error: err instanceof Error ? err.name : typeof err });
    } else {
      logger.warn('request rejected', meta);
    }
    sendOutcome(res, outcome);
  };
}
