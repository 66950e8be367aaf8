/**
 * The composition root: config -> logger -> store, mappings, embedded FHIR server -> HTTP app -> sync
 * worker. main.ts runs it; the end-to-end tests start and stop it the same way.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ViewRunDeps } from './analytics/run/run.js';
import { EmbeddedStoreSource } from './analytics/source.js';
import { loadViews } from './analytics/views.js';
import { resolveApiTokens } from './auth-tokens.js';
import type { Config } from './config.js';
import { createConsentGate } from './consent/gate.js';
import { loadFhirDefinitions } from './fhir/definitions.js';
import { createTargetAuth, staticTokenSource } from './fhir/auth/index.js';
import { createKitClientTarget } from './fhir/kit-client.js';
import { createEmbeddedFhirServer, getTargetProfile } from './fhir-server/index.js';
import { createApp } from './http/app.js';
import { disclosuresRouter } from './http/routes/disclosures.js';
import { deadLettersRouter } from './http/routes/dead-letters.js';
import { statusRouter } from './http/routes/status.js';
import type { IntakeDeps } from './intake/accept.js';
import { createLogger, type Logger } from './logger.js';
import { loadMappings } from './mapping/index.js';
import { mapRouter } from './http/routes/map.js';
import { viewDefinitionRunRouter } from './http/routes/viewdefinition-run.js';
import { loadProfiles } from './profiles/pack.js';
import { useProfilePack } from './profiles/validate.js';
import type { Store } from './store/port.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { SyncWorker } from './sync/worker.js';

export const EMBEDDED_TARGET = 'embedded';

export interface RunningService {
  url: string;
  port: number;
  apiTokens: string[];
  store: Store;
  worker: SyncWorker;
  logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream;
  /** De-identification and access audit of view runs over the service's data (src/analytics/run/run.ts). */
  analytics?: Pick<ViewRunDeps, 'transform' | 'onIdentifiedAccess'>;
}

export async function startService(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const logger = createLogger(config.logLevel, options.logStream);
  // First: a bad signing key (or key file) stops the start before anything is opened or written.
  const targetAuth = config.fhirBaseUrl
    ? await createTargetAuth({
        settings: config.fhirAuth,
        fhirBaseUrl: config.fhirBaseUrl,
        timeoutMs: config.sync.requestTimeoutMs,
        logger,
      })
    : undefined;
  mkdirSync(config.dataDir, { recursive: true });
  const apiTokens = resolveApiTokens(config, logger);
  loadFhirDefinitions();
  const mappings = loadMappings();
  // The profile pack (profiles/), parsed once: every outbound resource is validated against its profile.
  const profiles = loadProfiles({ ns: config.identifierNamespace });
  useProfilePack(profiles);
  // views/: checked like mappings; a broken view stops the start.
  const views = loadViews();
  const store = new SqliteStore(join(config.dataDir, 'collateral.sqlite'));

  let publicUrl = '';
  const embedded = config.fhirBaseUrl
    ? undefined
    : createEmbeddedFhirServer({
        dbPath: join(config.dataDir, 'fhir.sqlite'),
        baseUrl: () => `${publicUrl}/fhir`,
        logger,
        profile: getTargetProfile(config.embeddedFhirProfile),
      });
  const targetName = config.fhirBaseUrl ?? EMBEDDED_TARGET;
  // Views read the embedded store through a read-only connection of their own.
  const analyticsSource = embedded ? new EmbeddedStoreSource(join(config.dataDir, 'fhir.sqlite')) : undefined;

  // The worker needs the listening port, so it is created after the app; until then a wake is a no-op.
  let wakeWorker = (): void => {};
  const intake: IntakeDeps = {
    store,
    targets: [targetName],
    onAccepted: (clientKeys) => {
      void Promise.all(clientKeys.map((k) => store.wakeClient(targetName, k))).then(() => wakeWorker());
    },
  };
  const app = createApp({
    logger,
    apiTokens,
    intake,
    bodyLimitBytes: config.bodyLimitBytes,
    importLimitBytes: config.importLimitBytes,
    fhirRouter: embedded?.router,
    fhirOperationRouters: [
      viewDefinitionRunRouter({ views, source: analyticsSource, ...options.analytics, limitBytes: config.importLimitBytes }),
    ],
    apiRouters: [
      statusRouter(store),
      mapRouter({
        store,
        mappings,
        pack: profiles,
        config: { ns: config.identifierNamespace, mrnSystem: config.mrnSystem, includeNonFamilyContactDetails: config.includeNonFamilyContactDetails },
        limitBytes: config.importLimitBytes,
      }),
      // A replay or retry goes through the worker again (so consent is checked again); wake it at once.
      deadLettersRouter(store, () => wakeWorker()),
      disclosuresRouter(store, config.identifierNamespace),
    ],
    jwks: targetAuth?.jwks,
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const loopbackHost = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  publicUrl = `http://${loopbackHost.includes(':') ? `[${loopbackHost}]` : loopbackHost}:${port}`;

  // The sync reaches the embedded server over HTTP, exactly as it would reach an external one.
  const target = createKitClientTarget({
    name: targetName,
    baseUrl: config.fhirBaseUrl ?? `${publicUrl}/fhir`,
    auth: targetAuth?.source ?? staticTokenSource(() => apiTokens[0]),
    timeoutMs: config.sync.requestTimeoutMs,
  });
  const worker = new SyncWorker({
    store,
    target,
    mappings,
    mappingConfig: {
      ns: config.identifierNamespace,
      mrnSystem: config.mrnSystem,
      includeNonFamilyContactDetails: config.includeNonFamilyContactDetails,
    },
    logger,
    pollIntervalMs: config.sync.pollIntervalMs,
    concurrency: config.sync.concurrency,
    minBackoffMs: config.sync.minBackoffMs,
    maxBackoffMs: config.sync.maxBackoffMs,
    requestTimeoutMs: config.sync.requestTimeoutMs,
    maxAttempts: config.sync.maxAttempts,
    maxAgeMs: config.sync.maxAgeMs,
    capabilitiesTtlMs: config.sync.capabilitiesTtlMs,
    ...(config.sync.writeMode !== 'auto' ? { writeMode: config.sync.writeMode } : {}),
    practiceId: config.sync.practiceOrganizationId,
    roiDocument: config.sync.roiDocument,
    // Consent is checked per participant right before every send (and again on every retry or replay).
    gate: createConsentGate(store, { timeZone: config.practiceTimeZone }),
  });
  wakeWorker = () => worker.wake();
  if (config.sync.enabled) {
    worker.start();
  }
  logger.info('collateral-fhir started', {
    url: publicUrl,
    fhirTarget: config.fhirBaseUrl ? 'external' : `${publicUrl}/fhir`,
    dataDir: config.dataDir,
  });

  return {
    url: publicUrl,
    port,
    apiTokens,
    store,
    worker,
    logger,
    async close() {
      await worker.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      analyticsSource?.close();
      embedded?.close();
      await store.close();
    },
  };
}
