/**
 * The retry policy by error class (issue #5 item 4): what is held, retried (and when), or parked.
 */
import { UpstreamError } from '../../src/fhir/upstream-error.js';
import { OperationOutcomeError, outputInvalid, internalError } from '../../src/outcomes.js';
import type { OutboxEntry } from '../../src/store/port.js';
import { HoldError } from '../../src/sync/hold.js';
import { dispose, type RetryPolicy } from '../../src/sync/policy.js';
import { DuplicateOnTargetError } from '../../src/sync/writers/errors.js';

const policy: RetryPolicy = { maxAttempts: 5, maxAgeMs: 60_000, minBackoffMs: 100, maxBackoffMs: 10_000 };
const entry = (over: Partial<OutboxEntry> = {}): OutboxEntry => ({
  seq: 1,
  kind: 'note',
  recordId: 'n-1',
  target: 't',
  recordVersion: 1,
  clientKey: 'MRN-1',
  attempts: 0,
  failures: 0,
  ...over,
});
const answered = (status: number, retryAfterMs?: number): UpstreamError =>
  UpstreamError.answered(status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text: 'their words' } }] }, retryAfterMs);
const half = (): number => 0.5;

describe('retry policy', () => {
  test('a hold waits for what it names and is never parked, however often', () => {
    const d = dispose(new HoldError('patient-not-found', 'no Patient with MRN X'), entry({ attempts: 500, failures: 500 }), policy, Date.now(), half);
    expect(d).toMatchObject({ action: 'hold', code: 'patient-not-found', waitFor: [] });
    const at = new Date('2030-01-01T00:00:00Z');
    const waiting = dispose(new HoldError('waiting-for-record', 'session s-1 names participant p-1, not received yet', ['record:participant/p-1'], at), entry(), policy);
    expect(waiting).toEqual({ action: 'hold', code: 'waiting-for-record', reason: expect.stringContaining('p-1'), waitFor: ['record:participant/p-1'], recheckAt: at });
  });

  test.each([400, 422])('HTTP %i is not retried: parked with the target OperationOutcome', (status) => {
    const d = dispose(answered(status), entry(), policy);
    expect(d).toMatchObject({ action: 'dead-letter', code: `upstream-${status}` });
    expect(d.action === 'dead-letter' && d.outcome.issue?.some((i) => i.details?.text === 'their words')).toBe(true);
    expect(d.action === 'dead-letter' && d.reason).toContain('their words');
  });

  test('our own invalid output is parked at once', () => {
    const d = dispose(new OperationOutcomeError(outputInvalid([{ severity: 'error', code: 'structure', details: { text: 'x' } }])), entry(), policy);
    expect(d).toMatchObject({ action: 'dead-letter', code: 'output-invalid' });
  });

  test('a duplicate on the target is parked for a human', () => {
    expect(dispose(new DuplicateOnTargetError('Encounter', 2), entry(), policy)).toMatchObject({ action: 'dead-letter', code: 'duplicate-on-target' });
  });

  test('429 waits exactly as long as Retry-After says, pauses the target and does not count as a failure', () => {
    const d = dispose(answered(429, 7000), entry({ failures: 4 }), policy, Date.now(), half);
    expect(d).toMatchObject({ action: 'retry', code: 'upstream-429', delayMs: 7000, pauseTargetMs: 7000, countFailure: false });
  });

  test('503 honours Retry-After and counts; without Retry-After it backs off', () => {
    expect(dispose(answered(503, 2000), entry(), policy, Date.now(), half)).toMatchObject({ action: 'retry', delayMs: 2000, pauseTargetMs: 2000, countFailure: true });
    const d = dispose(answered(503), entry({ attempts: 3 }), policy, Date.now(), half);
    expect(d).toMatchObject({ action: 'retry', countFailure: true, delayMs: 800 }); // 100 * 2^4 * 0.5 (4th attempt)
    expect(d.action === 'retry' && d.pauseTargetMs).toBeFalsy();
  });

  test('no answer is an unknown outcome: retried, and the reason says the next attempt searches first', () => {
    const d = dispose(UpstreamError.noAnswer('timed out'), entry(), policy, Date.now(), half);
    expect(d).toMatchObject({ action: 'retry', code: 'unknown-outcome', countFailure: true });
    expect(d.action === 'retry' && d.reason).toMatch(/searches before writing/);
  });

  test.each([500, 502, 504, 409, 412])('HTTP %i is retried with exponential backoff and jitter', (status) => {
    const low = dispose(answered(status), entry({ attempts: 2 }), policy, Date.now(), () => 0.01);
    const high = dispose(answered(status), entry({ attempts: 2 }), policy, Date.now(), () => 0.99);
    expect(low).toMatchObject({ action: 'retry', countFailure: true });
    expect(low.action === 'retry' && high.action === 'retry' && low.delayMs < high.delayMs).toBe(true);
    expect(high.action === 'retry' && high.delayMs).toBeLessThanOrEqual(800);
  });

  test('405 retries after reading the CapabilityStatement again', () => {
    expect(dispose(answered(405), entry(), policy)).toMatchObject({ action: 'retry', refreshCapabilities: true });
  });

  test('401 and 403 are retried but never parked: a credential problem must not dead-letter everything', () => {
    expect(dispose(answered(401), entry({ failures: 100 }), policy)).toMatchObject({ action: 'retry', countFailure: false });
    expect(dispose(answered(403), entry({ failures: 100 }), policy)).toMatchObject({ action: 'retry', countFailure: false });
  });

  test('other 4xx are parked', () => {
    expect(dispose(answered(404), entry(), policy)).toMatchObject({ action: 'dead-letter', code: 'upstream-404' });
  });

  test('5xx and network errors are parked after the configured count', () => {
    expect(dispose(answered(500), entry({ failures: 3 }), policy)).toMatchObject({ action: 'retry' });
    const d = dispose(answered(500), entry({ failures: 4 }), policy);
    expect(d).toMatchObject({ action: 'dead-letter', code: 'retries-exhausted' });
    expect(d.action === 'dead-letter' && d.reason).toMatch(/after 5 failed attempts/);
    expect(dispose(UpstreamError.noAnswer('reset'), entry({ failures: 4 }), policy)).toMatchObject({ action: 'dead-letter' });
  });

  test('5xx and network errors are parked after the configured age', () => {
    const now = Date.now();
    expect(dispose(answered(502), entry({ failures: 1, failingSince: now - 59_000 }), policy, now)).toMatchObject({ action: 'retry' });
    expect(dispose(answered(502), entry({ failures: 1, failingSince: now - 61_000 }), policy, now)).toMatchObject({ action: 'dead-letter', code: 'retries-exhausted' });
  });

  test('an unexpected error of ours is retried, then parked like a 5xx', () => {
    const err = new OperationOutcomeError(internalError());
    expect(dispose(err, entry(), policy)).toMatchObject({ action: 'retry', code: 'internal-error' });
    expect(dispose(err, entry({ failures: 4 }), policy)).toMatchObject({ action: 'dead-letter' });
  });
});
