/**
 * Bulk exports: FHIR Bulk Data `$export` and SQL-on-FHIR `$viewdefinition-export`, run as background
 * jobs over the resources this service holds, de-identified by default (docs/exports.md).
 */
import { join } from 'node:path';
import type { Router } from 'express';
import type { ResourceSource } from '../analytics/source.js';
import type { DeidPolicy } from '../deid/index.js';
import type { OnIdentifiedAccess } from './access.js';
import type { DisclosureAccounting } from '../deid/identified-access.js';
import { bulkRunner } from './bulk-export.js';
import { exportRoutes } from './http.js';
import { JobStore } from './job-store.js';
import { JobManager, type JobLogger } from './jobs.js';
import { viewRunner, type ViewExportDeps } from './view-export.js';

export type { IdentifiedAccessEvent, OnIdentifiedAccess } from './access.js';
export type { Row, RowFormat, RowSink, ViewExportDeps } from './view-export.js';

export interface ExportsOptions {
  /** DATA_DIR: jobs live in `<dataDir>/exports/`. */
  dataDir: string;
  /** The resources this service holds (the same source view runs read; src/analytics/source.ts). The caller closes it. */
  source: ResourceSource;
  /** The public base URL of /fhir. */
  baseUrl: () => string;
  policy: DeidPolicy;
  deidKey: string;
  /** EXPORT_RETENTION_HOURS. */
  retentionHours: number;
  logger: JobLogger;
  now?: () => Date;
  sweepIntervalMs?: number;
  /** The view evaluator and writers (src/analytics/export-views.ts); without them $viewdefinition-export is not offered. */
  views?: ViewExportDeps;
  /** Called before every identified export or download (accounting of disclosures, access audit). */
  onIdentifiedAccess?: OnIdentifiedAccess;
  /** The accounting of disclosures of identified exports (one entry per client, when a job completes). */
  accounting?: DisclosureAccounting;
}

/** The running export machinery. */
export interface Exports {
  /** Mount at /fhir, before the FHIR server's routes and behind authentication. */
  router: Router;
  manager: JobManager;
  close(): Promise<void>;
}

/**
 * Starts the export machinery: marks jobs interrupted by the last stop as failed, starts the expiry sweep.
 */
export function createExports(o: ExportsOptions): Exports {
  const source = o.source;
  const manager = new JobManager({
    store: new JobStore(join(o.dataDir, 'exports')),
    runners: {
      bulk: bulkRunner({ source, policy: o.policy, deidKey: o.deidKey, accounting: o.accounting }),
      ...(o.views ? { view: viewRunner({ source, policy: o.policy, deidKey: o.deidKey, views: o.views, accounting: o.accounting }) } : {}),
    },
    retentionMs: o.retentionHours * 3_600_000,
    logger: o.logger,
    now: o.now,
    sweepIntervalMs: o.sweepIntervalMs,
  });
  manager.start();
  const router = exportRoutes({ manager, reader: source, baseUrl: o.baseUrl, views: o.views, onIdentifiedAccess: o.onIdentifiedAccess });
  return {
    router,
    manager,
    async close() {
      await manager.close();
    },
  };
}
