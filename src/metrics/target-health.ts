/**
 * The FHIR target's health as the sync's own requests see it (kit-client.ts onResponse): the last
 * answer, failures in a row, and the throttling (429, or 503 with Retry-After) of the last hour with
 * the pause it asked for. In memory: it describes this process's view since it started.
 */
import type { StatusClass } from './sync-metrics.js';
import { statusClassOf } from './sync-metrics.js';

export interface TargetHealthView {
  /** When the target last answered anything, and what. */
  lastResponseAt?: string;
  lastStatusClass?: StatusClass;
  lastSuccessAt?: string;
  /** Requests in a row that failed (5xx or no answer); 0 after any answer below 500. */
  consecutiveFailures: number;
  requests: number;
  /** 429s (and 503s with Retry-After) in the last hour, the last one, and the pause it asked for. */
  throttledLastHour: number;
  lastThrottledAt?: string;
  lastRetryAfterSeconds?: number;
  /** Until when the target asked us to wait, when that is still ahead. */
  pausedUntil?: string;
}

const HOUR = 3_600_000;

export class TargetHealth {
  private readonly view: TargetHealthView = { consecutiveFailures: 0, requests: 0, throttledLastHour: 0 };
  private throttles: number[] = [];

  /** Records one request's answer (status 0: none). */
  observe(status: number, retryAfterSeconds?: number, now = Date.now()): void {
    const v = this.view;
    const cls = statusClassOf(status);
    v.requests++;
    v.lastStatusClass = cls;
    if (status !== 0) {
      v.lastResponseAt = new Date(now).toISOString();
    }
    if (cls === '2xx' || cls === '3xx') {
      v.lastSuccessAt = new Date(now).toISOString();
    }
    v.consecutiveFailures = cls === '5xx' || cls === 'none' ? v.consecutiveFailures + 1 : 0;
    if (status === 429 || (status === 503 && retryAfterSeconds !== undefined)) {
      this.throttles.push(now);
      v.lastThrottledAt = new Date(now).toISOString();
      if (retryAfterSeconds !== undefined) {
        v.lastRetryAfterSeconds = retryAfterSeconds;
        v.pausedUntil = new Date(now + retryAfterSeconds * 1000).toISOString();
      }
    }
  }

  /** The current view (the throttles counted over the hour before `now`). */
  snapshot(now = Date.now()): TargetHealthView {
    this.throttles = this.throttles.filter((t) => now - t < HOUR);
    const { pausedUntil, ...rest } = this.view;
    return {
      ...rest,
      throttledLastHour: this.throttles.length,
      ...(pausedUntil && Date.parse(pausedUntil) > now ? { pausedUntil } : {}),
    };
  }
}
