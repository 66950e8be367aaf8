/**
 * The error every FhirTarget call throws: an OperationOutcomeError (upstreamFailed, so the rest of the
 * service handles it like any outcome) that also carries what the retry policy needs from the HTTP
 * exchange: the status (0 = no answer) and the server's Retry-After.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { OperationOutcomeError, upstreamFailed } from '../outcomes.js';

export class UpstreamError extends OperationOutcomeError {
  constructor(
    /** The HTTP status; 0 when no answer came (timeout, reset, refused). */
    readonly status: number,
    /** Retry-After in milliseconds, when the server sent one. */
    readonly retryAfterMs: number | undefined,
    outcome: OperationOutcome,
    cause?: unknown
  ) {
    super(outcome, cause);
    this.name = 'UpstreamError';
  }

  static answered(status: number, upstream: OperationOutcome | undefined, retryAfterMs: number | undefined, cause?: unknown): UpstreamError {
    return new UpstreamError(status, retryAfterMs, upstreamFailed(status, upstream), cause);
  }

  /** No answer: the request may or may not have been applied (an unknown outcome). */
  static noAnswer(why: string, cause?: unknown): UpstreamError {
    return new UpstreamError(0, undefined, upstreamFailed(0, undefined, `No answer from the FHIR server (${why})`), cause);
  }
}

/** The longest Retry-After we honour; a larger one is treated as this (a server asking for days is misconfigured). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Parses a Retry-After header (delta-seconds or an HTTP-date, RFC 9110 10.2.3) into milliseconds from now.
 * @returns undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) {
    return undefined;
  }
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) {
    return undefined;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
