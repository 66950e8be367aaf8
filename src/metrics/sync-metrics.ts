/**
 * What the sync worker and the FHIR client report (the typed interface they call), and its Prometheus
 * implementation. Labels are fixed vocabularies (outcome, status class, operation): never a record
 * id, an MRN, a URL path or anything else that names a person.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Where one processed outbox entry ended (worker.ts: settle / defer). */
export type AttemptOutcome = 'synced' | 'unchanged' | 'held' | 'failed' | 'dead-letter' | 'not-writable' | 'blocked';

/** How a record version's delivery ended for good. */
export type SettledOutcome = 'synced' | 'dead-letter';

/** An HTTP status as a class: 2xx, 3xx, 4xx, 429 (kept apart: it paces the sync), 5xx, or none (no answer). */
export type StatusClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'none';

export interface SyncMetrics {
  /** One outbox entry processed: its outcome and how long the attempt took. */
  observeAttempt(outcome: AttemptOutcome, ms: number): void;
  /** A record version settled: the attempts it took and the time since that version was received. */
  observeSettled(outcome: SettledOutcome, attempts: number, latencyMs: number): void;
  /** One request to the FHIR target answered (or not): kit-client.ts's onResponse hook. */
  observeTargetResponse(statusClass: StatusClass, operation: string, ms: number): void;
  /** The target asked us to wait (429/503 Retry-After): the worker pauses the whole target. */
  observeTargetPause(seconds: number): void;
}

/** The FhirTarget operations (kit-client.ts), the only values the operation label takes. */
const OPERATIONS = new Set(['capabilities', 'search', 'transaction', 'batch', 'read', 'history', 'create', 'update', 'conditionalUpdate', 'patch']);

/** The class of an HTTP status (0 = no answer). */
export function statusClassOf(status: number): StatusClass {
  if (status === 0) return 'none';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

export function createSyncMetrics(registry: Registry): SyncMetrics {
  const attempts = new Histogram({
    name: 'collateral_sync_attempt_duration_seconds',
    help: 'Time to process one outbox entry (consent check, mapping, writes), by where it ended.',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'collateral_sync_latency_seconds',
    help: 'Time from receiving a record version to its delivery settling (synced or parked as a dead letter).',
    labelNames: ['outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400, 86400],
    registers: [registry],
  });
  const attemptsPerRecord = new Histogram({
    name: 'collateral_sync_attempts',
    help: 'Attempts a record version took until it settled (synced or parked).',
    labelNames: ['outcome'],
    buckets: [1, 2, 3, 5, 8, 13, 21],
    registers: [registry],
  });
  const responses = new Counter({
    name: 'collateral_target_responses_total',
    help: 'Requests to the FHIR target by operation and HTTP status class (none = no answer).',
    labelNames: ['operation', 'status_class'],
    registers: [registry],
  });
  const requestTime = new Histogram({
    name: 'collateral_target_request_duration_seconds',
    help: 'Duration of requests to the FHIR target by operation.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const pauses = new Counter({
    name: 'collateral_target_pauses_total',
    help: 'Times the target asked the sync to wait (429 or 503 with Retry-After) and the sync paused.',
    registers: [registry],
  });
  const pausedFor = new Gauge({
    name: 'collateral_target_last_pause_seconds',
    help: 'Length of the last pause the target asked for (Retry-After), in seconds.',
    registers: [registry],
  });
  return {
    observeAttempt(outcome, ms) {
      attempts.observe({ outcome }, ms / 1000);
    },
    observeSettled(outcome, n, latencyMs) {
      attemptsPerRecord.observe({ outcome }, n);
      latency.observe({ outcome }, Math.max(0, latencyMs) / 1000);
    },
    observeTargetResponse(statusClass, operation, ms) {
      const op = OPERATIONS.has(operation) ? operation : 'other';
      responses.inc({ operation: op, status_class: statusClass });
      requestTime.observe({ operation: op }, ms / 1000);
    },
    observeTargetPause(seconds) {
      pauses.inc();
      pausedFor.set(seconds);
    },
  };
}

/** For code run without metrics (the CLI, tests of other parts). */
export const NO_SYNC_METRICS: SyncMetrics = {
  observeAttempt: () => {},
  observeSettled: () => {},
  observeTargetResponse: () => {},
  observeTargetPause: () => {},
};
