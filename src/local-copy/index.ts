/**
 * The copy of what the service sent to an external target (issue #11 item 2), wired as one unit for
 * the service: where it lives, the hook on the sync's FhirTarget, `/fhir` over it, and what happens
 * with a shared PostgreSQL store (no copy; /fhir answers 501). docs/analytics.md, "External targets".
 */
import type { Router } from 'express';
import type { FhirTarget } from '../fhir/port.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/port.js';
import { drainOwed, ensureCopied, type Delivered } from './reconcile.js';
import { readOnlyCopyRouter } from './read-only-router.js';
import { recordingTarget } from './recording-target.js';
import { LocalCopy, localCopyPath } from './store.js';
import { noCopyReason, noCopyRouter } from './unavailable-router.js';

export { LOCAL_COPY_SOFTWARE } from './capability.js';
export { LocalCopy, localCopyPath } from './store.js';
export { recordingTarget } from './recording-target.js';

/** How often read-backs the target could not answer are tried again. */
const DRAIN_EVERY_MS = 60_000;

/** Options of setUpLocalCopy. */
export interface LocalCopyOptions {
  dataDir: string;
  /** The external target (FHIR_BASE_URL): the copy is of what was sent there. */
  targetName: string;
  /** IDENTIFIER_NAMESPACE: the sync tags each Provenance with it (finding a record's Provenances in the ledger). */
  ns: string;
  /** DATABASE_URL is set: instances share the store, so no per-instance copy is kept. */
  sharedStore: boolean;
  /** The service's public …/fhir (known once it listens). */
  baseUrl: () => string;
  logger: Logger;
}

/** The copy as the service uses it. */
export interface LocalCopySetup {
  /** Mounted at /fhir after the operation routers: read-only over the copy, or 501 under PostgreSQL. */
  router: Router;
  /** The copy's SQLite file, for views and exports (EmbeddedStoreSource); absent under PostgreSQL. */
  dbPath?: string;
  /** The sync's target, keeping every confirmed write in the copy before the outbox settles. */
  wrapTarget(target: FhirTarget): FhirTarget;
  /**
   * The worker's beforeSettle (SyncWorkerOptions): what the delivered records put on `target` is in the
   * copy before they settle; undefined when no copy is kept.
   */
  beforeSettle(target: FhirTarget, store: Pick<Store, 'ledger'>): ((delivered: Delivered[]) => Promise<void>) | undefined;
  /** After the sync and the HTTP server stopped. */
  close(): Promise<void>;
}

/**
 * Opens the copy of `targetName` (DATA_DIR/fhir-copy/<key>.sqlite), or, with a shared PostgreSQL
 * store, says once in the log that there is none and why.
 */
export function setUpLocalCopy(o: LocalCopyOptions): LocalCopySetup {
  if (o.sharedStore) {
    o.logger.warn('no local copy of what is sent: /fhir answers 501', { reason: noCopyReason(o.targetName) });
    return { router: noCopyRouter(o.targetName), wrapTarget: (t) => t, beforeSettle: () => undefined, close: async () => undefined };
  }
  const copy = new LocalCopy(localCopyPath(o.dataDir, o.targetName), o.targetName, o.logger);
  o.logger.info('local copy of what is sent', { target: o.targetName, file: copy.dbPath });
  // Read-backs owed while the target could not answer are tried again every minute, not only on the next delivery.
  let timer: NodeJS.Timeout | undefined;
  let draining = Promise.resolve();
  return {
    router: readOnlyCopyRouter({ repo: copy.repo, baseUrl: o.baseUrl, targetName: o.targetName, logger: o.logger }),
    dbPath: copy.dbPath,
    wrapTarget: (t) => recordingTarget(t, copy, o.logger),
    beforeSettle: (target, store) => {
      timer ??= setInterval(() => {
        draining = drainOwed(copy, target, o.logger).then(
          () => undefined,
          () => undefined
        );
      }, DRAIN_EVERY_MS);
      timer.unref();
      return (delivered) => ensureCopied(copy, target, store, o.ns, delivered, o.logger);
    },
    close: async () => {
      clearInterval(timer);
      await draining;
      copy.close();
    },
  };
}
