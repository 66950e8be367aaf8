/**
 * The retry policy: what happens to a record after a failed attempt, by error class (issue #5 item 4).
 *
 * - held (HoldError: a missing Patient, a dependency, no consent yet): waits for what it names (an event
 *   wakes it), at most until the slow periodic recheck; never parked, never counted; the review list
 *   shows the identity holds.
 * - our own validation (input-invalid, transform-failed, output-invalid) and the target's 400/422, and
 *   any other 4xx that a retry cannot fix: parked at once as a dead letter with the OperationOutcome.
 * - 409/412: the writers already re-read and re-applied with If-Match; still conflicting = transient.
 * - 429 (and 503) with Retry-After: retried no earlier than the server asked; 429 does not count as a
 *   failure (the server is pacing us, the record is fine) and pauses the whole target.
 * - 5xx, no answer (timeout, reset: an unknown outcome, the next attempt searches before writing),
 *   405/501 (our capability statement is stale): retried with backoff up to SYNC_MAX_ATTEMPTS failures
 *   and SYNC_MAX_AGE_MS since the first failure, then parked.
 * - 401/403: retried with backoff, never parked: a credential problem is the operator's to fix and
 *   must not turn every record into a dead letter.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { UpstreamError } from '../fhir/upstream-error.js';
import { toOutcome, upstreamStatusOf } from '../outcomes.js';
import type { OutboxEntry } from '../store/port.js';
import { backoffDelay } from './backoff.js';
import { HoldError } from './hold.js';
import { DuplicateOnTargetError, UnresolvableOutcomeError } from './writers/errors.js';

export interface RetryPolicy {
  /** Transient failures of one record version before it is parked. */
  maxAttempts: number;
  /** Time since the first failure after which a record is parked. */
  maxAgeMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export type Disposition =
  | { action: 'hold'; code: string; reason: string; waitFor: string[]; recheckAt?: Date }
  | {
      action: 'retry';
      code: string;
      reason: string;
      delayMs: number;
      outcome: OperationOutcome;
      countFailure: boolean;
      /** Wait this long before sending anything more to the target (429/503 with Retry-After). */
      pauseTargetMs?: number;
      /** Our CapabilityStatement looks stale (405/501): read it again. */
      refreshCapabilities?: boolean;
    }
  | { action: 'dead-letter'; code: string; reason: string; outcome: OperationOutcome };

/** Outcome ids of our own that no retry can fix. */
const OURS_PERMANENT = new Set(['input-invalid', 'transform-failed', 'output-invalid', 'mapping-invalid']);

/**
 * Decides what to do with a record after an attempt failed with `err`.
 * @param entry - the outbox entry as claimed (its attempts and failures before this attempt).
 */
export function dispose(err: unknown, entry: OutboxEntry, policy: RetryPolicy, now = Date.now(), random: () => number = Math.random): Disposition {
  const attempt = entry.attempts + 1;
  const backoff = (): number => backoffDelay(attempt, policy.minBackoffMs, policy.maxBackoffMs, random);
  if (err instanceof HoldError) {
    return { action: 'hold', code: err.code, reason: err.message, waitFor: err.waitFor, ...(err.recheckAt ? { recheckAt: err.recheckAt } : {}) };
  }
  const outcome = toOutcome(err);
  const text = outcome.issue?.[0]?.details?.text ?? 'unexpected error';
  if (err instanceof DuplicateOnTargetError) {
    return { action: 'dead-letter', code: 'duplicate-on-target', reason: text, outcome };
  }
  if (err instanceof UnresolvableOutcomeError) {
    return { action: 'dead-letter', code: 'unknown-outcome-unresolvable', reason: text, outcome };
  }
  if (OURS_PERMANENT.has(outcome.id ?? '')) {
    return { action: 'dead-letter', code: outcome.id as string, reason: `${outcome.id}: ${text}`, outcome };
  }
  const status = err instanceof UpstreamError ? err.status : upstreamStatusOf(outcome);
  const retryAfterMs = err instanceof UpstreamError ? err.retryAfterMs : undefined;
  let retry: Extract<Disposition, { action: 'retry' }>;
  if (status === undefined) {
    // Not from the target: our bug or a store error. Retried, and parked if it keeps happening.
    retry = { action: 'retry', code: outcome.id ?? 'error', reason: `${outcome.id ?? 'error'}: ${text}`, delayMs: backoff(), outcome, countFailure: true };
  } else if (status === 400 || status === 422) {
    return { action: 'dead-letter', code: `upstream-${status}`, reason: `refused by the target (HTTP ${status}): ${upstreamText(outcome)}`, outcome };
  } else if (status === 429 || status === 503) {
    const delay = retryAfterMs ?? backoff();
    retry = {
      action: 'retry',
      code: `upstream-${status}`,
      reason: `the target asked to wait (HTTP ${status}${retryAfterMs !== undefined ? `, Retry-After ${Math.round(retryAfterMs / 1000)} s` : ''})`,
      delayMs: delay,
      outcome,
      countFailure: status === 503,
      ...(retryAfterMs !== undefined ? { pauseTargetMs: retryAfterMs } : {}),
    };
  } else if (status === 0) {
    retry = {
      action: 'retry',
      code: 'unknown-outcome',
      reason: `${text}; the outcome is unknown, the next attempt searches before writing`,
      delayMs: backoff(),
      outcome,
      countFailure: true,
    };
  } else if (status === 401 || status === 403) {
    retry = { action: 'retry', code: `upstream-${status}`, reason: `the target refused our credentials (HTTP ${status})`, delayMs: backoff(), outcome, countFailure: false };
  } else if (status === 405 || status === 501) {
    retry = {
      action: 'retry',
      code: `upstream-${status}`,
      reason: `the target does not allow this interaction (HTTP ${status}); its CapabilityStatement is read again`,
      delayMs: backoff(),
      outcome,
      countFailure: true,
      refreshCapabilities: true,
    };
  } else if (status >= 500 || status === 408 || status === 409 || status === 412) {
    retry = { action: 'retry', code: `upstream-${status}`, reason: `the target answered HTTP ${status}: ${upstreamText(outcome)}`, delayMs: backoff(), outcome, countFailure: true };
  } else {
    return { action: 'dead-letter', code: `upstream-${status}`, reason: `refused by the target (HTTP ${status}): ${upstreamText(outcome)}`, outcome };
  }
  if (retry.countFailure) {
    const failures = (entry.failures ?? 0) + 1;
    const since = entry.failingSince ?? now;
    if (failures >= policy.maxAttempts) {
      return { action: 'dead-letter', code: 'retries-exhausted', reason: `gave up after ${failures} failed attempts; last: ${retry.reason}`, outcome };
    }
    if (now - since >= policy.maxAgeMs) {
      return {
        action: 'dead-letter',
        code: 'retries-exhausted',
        reason: `gave up after failing for ${Math.round((now - since) / 1000)} s; last: ${retry.reason}`,
        outcome,
      };
    }
  }
  return retry;
}

/** The target's own first issue text (after our upstream-failed summary), if any. */
function upstreamText(o: OperationOutcome): string {
  const issues = o.issue ?? [];
  const theirs = issues.slice(1).map((i) => i.details?.text ?? i.diagnostics).find((t) => !!t);
  return theirs ?? issues[0]?.details?.text ?? 'no details';
}
