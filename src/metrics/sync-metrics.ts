/**
 * What the sync worker and the FHIR client report (the typed interface they call), and its Prometheus
 * implementation. Labels are fixed vocabularies (target name, outcome, write mode, status class,
 * operation): never a record id, an MRN, a URL path or anything else that names a person.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Settlement, SettleResult } from '../store/port.js';

/**
 * Where one attempt at an outbox entry ended: its settled state, or `superseded` (a newer version
 * arrived meanwhile and gets its own attempt).
 */
export type AttemptOutcome = Settlement['state'] | 'superseded';

/** An HTTP status as a class: 2xx, 3xx, 4xx, 429 (kept apart: it paces the sync), 5xx, or none (no answer). */
export type StatusClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'none';

/** The worker's calls (src/sync/worker.ts); each is a few label lookups, never a store read. */
export interface SyncMetrics {
  /** One claim of due entries on a target: how long the store took, and how many it handed out. */
  observeClaim(target: string, ms: number, claimed: number): void;
  /** One write of a slot's ready records (a Bundle, or records one after the other) to the target. */
  observeSend(target: string, mode: string, ms: number, records: number): void;
  /**
   * Settlements committed in one transaction and what committing them did, for attempts by outcome
   * and their durations; `startedAt` is when the slot began (ms); `receivedAt[i]` is when settlement
   * i's record version was stored, where known (for the latency of a version that settled for good).
   */
  observeSettlements(target: string, settlements: readonly Settlement[], results: readonly SettleResult[], startedAt: number, receivedAt?: readonly (string | undefined)[]): void;
  /** One request to the FHIR target answered (or not): kit-client.ts's onResponse hook. */
  observeTargetResponse(statusClass: StatusClass, operation: string, ms: number): void;
  /** The target asked us to wait (429/503 Retry-After): the worker pauses the whole target. */
  observeTargetPause(seconds: number): void;
}

/** The FhirTarget operations (kit-client.ts), the only values the operation label takes. */
const OPERATIONS = new Set(['capabilities', 'search', 'transaction', 'batch', 'read', 'history', 'create', 'update', 'conditionalUpdate', 'patch']);
/** The write modes (src/sync/writers), the only values the mode label takes. */
const MODES = new Set(['transaction', 'batch', 'sequential']);
/** States in which a record version's delivery has ended for good (until a new version or a replay). */
const FINAL = new Set<AttemptOutcome>(['synced', 'dead-letter', 'not-writable']);

/** The class of an HTTP status (0 = no answer). */
export function statusClassOf(status: number): StatusClass {
  if (status === 0) return 'none';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** Store and request timings: from a millisecond to half a minute (a request timeout). */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createSyncMetrics(registry: Registry): SyncMetrics {
  const registers = [registry];
  const attemptsTotal = new Counter({
    name: 'collateral_sync_attempts_total',
    help: 'Attempts at outbox entries per target, by where they ended (synced, held, failed, dead-letter, not-writable, blocked, superseded).',
    labelNames: ['target', 'outcome'],
    registers,
  });
  const attemptTime = new Histogram({
    name: 'collateral_sync_attempt_duration_seconds',
    help: "Time from a slot's start to its settlements' commit (consent check, mapping, writes), per target and outcome.",
    labelNames: ['target', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const claimTime = new Histogram({
    name: 'collateral_sync_claim_duration_seconds',
    help: 'Time the store took to claim due outbox entries (one claim per free slot round), per target.',
    labelNames: ['target'],
    buckets: FAST_BUCKETS,
    registers,
  });
  const claimed = new Counter({
    name: 'collateral_sync_claimed_total',
    help: 'Outbox entries handed out by claims, per target.',
    labelNames: ['target'],
    registers,
  });
  const sendTime = new Histogram({
    name: 'collateral_sync_send_duration_seconds',
    help: "Time to write one slot's ready records to the target (a transaction or batch Bundle, or one after the other), per target and mode.",
    labelNames: ['target', 'mode'],
    buckets: FAST_BUCKETS,
    registers,
  });
  const sentRecords = new Counter({
    name: 'collateral_sync_sent_records_total',
    help: 'Records in the writes to the target, per target and mode (records per Bundle = this / the send count).',
    labelNames: ['target', 'mode'],
    registers,
  });
  const latency = new Histogram({
    name: 'collateral_sync_latency_seconds',
    help: 'Time from storing a record version to its delivery ending (synced, dead-letter or not-writable), per target.',
    labelNames: ['target', 'outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400, 86400],
    registers,
  });
  const attemptsPerVersion = new Histogram({
    name: 'collateral_sync_attempts',
    help: 'Attempts a record version took until its delivery ended (synced, dead-letter or not-writable), per target.',
    labelNames: ['target', 'outcome'],
    buckets: [1, 2, 3, 5, 8, 13, 21],
    registers,
  });
  const responses = new Counter({
    name: 'collateral_target_responses_total',
    help: 'Requests to the FHIR target by operation and HTTP status class (none = no answer).',
    labelNames: ['operation', 'status_class'],
    registers,
  });
  const requestTime = new Histogram({
    name: 'collateral_target_request_duration_seconds',
    help: 'Duration of requests to the FHIR target by operation.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const pauses = new Counter({
    name: 'collateral_target_pauses_total',
    help: 'Times the target asked the sync to wait (429 or 503 with Retry-After) and the sync paused.',
    registers,
  });
  const pausedFor = new Gauge({
    name: 'collateral_target_last_pause_seconds',
    help: 'Length of the last pause the target asked for (Retry-After), in seconds.',
    registers,
  });
  return {
    observeClaim(target, ms, n) {
      claimTime.observe({ target }, ms / 1000);
      claimed.inc({ target }, n);
    },
    observeSend(target, mode, ms, records) {
      const m = MODES.has(mode) ? mode : 'other';
      sendTime.observe({ target, mode: m }, ms / 1000);
      sentRecords.inc({ target, mode: m }, records);
    },
    observeSettlements(target, settlements, results, startedAt, receivedAt) {
      const now = Date.now();
      settlements.forEach((s, i) => {
        const outcome: AttemptOutcome = results[i]?.superseded ? 'superseded' : s.state;
        attemptsTotal.inc({ target, outcome });
        attemptTime.observe({ target, outcome }, Math.max(0, now - startedAt) / 1000);
        if (FINAL.has(outcome)) {
          attemptsPerVersion.observe({ target, outcome }, s.entry.attempts + 1);
          const at = receivedAt?.[i];
          if (at !== undefined) {
            latency.observe({ target, outcome }, Math.max(0, now - Date.parse(at)) / 1000);
          }
        }
      });
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
  observeClaim: () => {},
  observeSend: () => {},
  observeSettlements: () => {},
  observeTargetResponse: () => {},
  observeTargetPause: () => {},
};
