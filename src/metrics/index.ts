/**
 * The service's Prometheus metrics: one registry per running service (tests start several in one
 * process), Node's process and event-loop metrics, the intake's and the sync's own, and gauges of the
 * delivery state read from the store when scraped. See docs/metrics.md for every metric.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { StatusQueries } from '../store/port.js';
import { createIntakeMetrics, type ImportJobProgress, type IntakeMetrics } from './intake-metrics.js';
import { registerStatusGauges } from './status-collector.js';
import { createSyncMetrics, type SyncMetrics } from './sync-metrics.js';
import { TargetHealth } from './target-health.js';

export type { AttemptOutcome, StatusClass, SyncMetrics } from './sync-metrics.js';
export { NO_SYNC_METRICS, statusClassOf } from './sync-metrics.js';
export type { ImportJobProgress, IntakeMetrics, IntakeResult } from './intake-metrics.js';
export { TargetHealth, type TargetHealthView } from './target-health.js';

export interface ServiceMetrics {
  registry: Registry;
  sync: SyncMetrics;
  intake: IntakeMetrics;
  /** The sync target's health as its requests see it (for the console's overview). */
  targetHealth: TargetHealth;
}

export interface MetricsOptions {
  status: Pick<StatusQueries, 'targetStatus'>;
  /** The import jobs running now, once import jobs exist (issue #8). */
  runningImportJobs?: () => Promise<ImportJobProgress[]>;
}

export function createServiceMetrics(o: MetricsOptions): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerStatusGauges(registry, o.status);
  return {
    registry,
    sync: createSyncMetrics(registry),
    intake: createIntakeMetrics(registry, o.runningImportJobs),
    targetHealth: new TargetHealth(),
  };
}
