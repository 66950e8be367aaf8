/**
 * Medplum's FHIR interaction quota (packages/server/src/fhir/fhirquota.ts): every repository operation
 * costs points (read 1, history 10, search 20, write 100), counted per client in a fixed window that
 * starts with the first operation (rate-limiter-flexible's behaviour). An operation that would go past
 * the limit is refused with 429 `too-many-requests` (its points still count, so the client stays blocked
 * until the window ends); inside a batch or non-atomic transaction medplum's batch processor then answers
 * 429 for that entry and every entry after it.
 *
 * Deterministic for tests: the clock is injectable, and refill() starts a fresh window at once.
 */
import { OperationOutcomeError, tooManyRequests } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { MedplumQuota } from './medplum-options.js';

/** Medplum's weights (FhirQuotaCost). */
export const QUOTA_COST = { read: 1, history: 10, search: 20, write: 100 } as const;

export type QuotaCost = keyof typeof QUOTA_COST;

/** Where a client stands in its window. */
export interface QuotaState {
  limit: number;
  used: number;
  remaining: number;
  /** Until the window ends (then the full limit is available again). */
  resetInMs: number;
}

interface Bucket {
  used: number;
  resetAt: number;
}

/** One quota per server: a limit and a window, one bucket per client key. */
export class FhirQuota {
  private limit: number | undefined;
  private windowMs = 60_000;
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  /**
   * @param quota - The limit; undefined for none.
   * @param now - The clock (ms); Date.now by default.
   */
  constructor(quota: MedplumQuota | undefined, now: () => number = Date.now) {
    this.now = now;
    this.set(quota);
  }

  /** Changes the limit (undefined: none) and starts fresh windows for every client. */
  set(quota: MedplumQuota | undefined): void {
    this.limit = quota?.points;
    this.windowMs = Math.round((quota?.windowSeconds ?? 60) * 1000);
    this.buckets.clear();
  }

  /** Forgets what every client spent: the next operation starts a new window with the full limit. */
  refill(): void {
    this.buckets.clear();
  }

  /** True when a limit applies. */
  get enabled(): boolean {
    return this.limit !== undefined;
  }

  /**
   * Spends points for one operation.
   * @param key - The client (its client_id, or `anonymous`).
   * @param cost - What kind of operation.
   * @throws OperationOutcomeError 429 when the client is, or would go, over the limit.
   */
  consume(key: string, cost: QuotaCost): void {
    if (this.limit === undefined) {
      return;
    }
    const bucket = this.bucket(key);
    // Already over: refused without counting, as medplum's in-memory block does.
    if (bucket.used >= this.limit && bucket.used > 0) {
      throw this.refusal(bucket);
    }
    bucket.used += QUOTA_COST[cost];
    if (bucket.used > this.limit) {
      throw this.refusal(bucket);
    }
  }

  /** Where `key` stands; undefined without a limit. */
  state(key: string): QuotaState | undefined {
    if (this.limit === undefined) {
      return undefined;
    }
    const now = this.now();
    const found = this.buckets.get(key);
    // Reading the state starts no window: without a live one the whole limit is there.
    const bucket = found && now < found.resetAt ? found : { used: 0, resetAt: now + this.windowMs };
    return {
      limit: this.limit,
      used: bucket.used,
      remaining: Math.max(this.limit - bucket.used, 0),
      resetInMs: Math.max(bucket.resetAt - now, 0),
    };
  }

  private bucket(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { used: 0, resetAt: now + this.windowMs };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private refusal(bucket: Bucket): OperationOutcomeError {
    // medplum puts its rate limiter's state in the diagnostics; the same fields here.
    const msBeforeNext = Math.max(bucket.resetAt - this.now(), 0);
    const outcome: OperationOutcome = structuredClone(tooManyRequests);
    outcome.issue[0].diagnostics = JSON.stringify({
      remainingPoints: 0,
      msBeforeNext,
      consumedPoints: bucket.used,
      isFirstInDuration: false,
      limit: this.limit,
    });
    return new OperationOutcomeError(outcome);
  }
}
