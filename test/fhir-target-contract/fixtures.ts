/**
 * Resources and checks shared by the FhirTarget contract tests.
 */
import type { Resource } from '@medplum/fhirtypes';
import { UpstreamError } from '../../src/fhir/upstream-error.js';
import type { OutboxEntry } from '../../src/store/port.js';
import { dispose, type Disposition, type RetryPolicy } from '../../src/sync/policy.js';
import { SYSTEM } from './harness.js';

/** A Patient with our identifier `value` and the family name `family`. */
export function patient(value: string, family = 'Contract'): Resource {
  return { resourceType: 'Patient', identifier: [{ system: SYSTEM, value }], name: [{ family }] } as Resource;
}

/** The If-None-Exist / search criterion of that identifier. */
export const byIdentifier = (value: string): string => `${SYSTEM}|${value}`;

const policy: RetryPolicy = { maxAttempts: 5, maxAgeMs: 60_000, minBackoffMs: 100, maxBackoffMs: 10_000 };
const entry: OutboxEntry = { seq: 1, kind: 'participant', recordId: 'p-1', target: 't', recordVersion: 1, clientKey: 'MRN-1', attempts: 0, failures: 0 };

/**
 * What a call threw, checked to be the kit client's error shape (an UpstreamError whose outcome names
 * the status), with the sync's disposition of it (its retry policy, fixed jitter).
 */
export async function refusal(call: Promise<unknown>): Promise<{ status: number; disposition: Disposition; error: UpstreamError }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(UpstreamError);
  const e = error as UpstreamError;
  expect(e.outcome.issue?.[0]).toMatchObject({ severity: 'error', diagnostics: `upstream-status:${e.status}` });
  return { status: e.status, disposition: dispose(e, entry, policy, 0, () => 0.5), error: e };
}
