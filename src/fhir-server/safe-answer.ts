/**
 * The last look at an embedded-server answer before it goes out (issue #10): error texts never quote
 * the request's values, and never pass on a JavaScript error message.
 */
import { badRequest } from '@medplum/core';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { Request } from 'express';
import { inputValues, redactEchoes } from '../http/middleware/echo-guard.js';
import type { FhirServerLogger } from './http.js';
import type { HttpAnswer } from './responses.js';

/**
 * Error texts as they may go out: no value of the request quoted (echo-guard.ts), and no JavaScript
 * error message passed on by medplum (which answers a handler's TypeError with a 400 carrying its
 * message); both for a top-level outcome and for the outcomes inside batch and transaction responses.
 * @param req - The request (its body and query are the values never to quote).
 * @param answer - The answer about to be sent.
 * @param logger - Told (method and codes only) when a JavaScript message was replaced.
 */
export function safeAnswer(req: Request, answer: HttpAnswer, logger: FhirServerLogger | undefined): HttpAnswer {
  const body = answer.body;
  const hasOutcomes = body.resourceType === 'OperationOutcome' || (body.resourceType === 'Bundle' && /-response$/.test(body.type ?? ''));
  if (!hasOutcomes) {
    return answer;
  }
  const values = inputValues(req.body, req.query as Record<string, unknown>);
  const clean = (o: OperationOutcome): OperationOutcome => {
    const redacted = redactEchoes(o, values);
    if (!redacted.issue?.some((i) => JS_ERROR.test(i.details?.text ?? '') || JS_ERROR.test(i.diagnostics ?? ''))) {
      return redacted;
    }
    logger?.warn('FHIR request failed inside the router', { method: req.method, codes: redacted.issue.map((i) => i.code) });
    return badRequest('The request could not be processed: it is not a well-formed FHIR request for this URL');
  };
  if (body.resourceType === 'OperationOutcome') {
    return { ...answer, body: clean(body) };
  }
  const bundle = body as Bundle;
  return {
    ...answer,
    body: {
      ...bundle,
      entry: bundle.entry?.map((e) => (e.response?.outcome ? { ...e, response: { ...e.response, outcome: clean(e.response.outcome as OperationOutcome) } } : e)),
    },
  };
}

/** The messages of JavaScript's own errors (TypeError, RangeError, SyntaxError), never meant for a caller. */
const JS_ERROR =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|is not a constructor|Cannot convert|Maximum call stack|Unexpected token|Unexpected end of JSON|Invalid array length|undefined \(reading|null \(reading/;
