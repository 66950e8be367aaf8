/**
 * The composition root: config -> logger -> store, mappings, embedded FHIR server -> HTTP app -> sync
 * worker. main.ts runs it; the end-to-end tests start and stop it the same way.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LocalAuditSource, routedSource } from './analytics/audit-source.js';
import { viewExportDeps } from './analytics/export-views.js';
import { EmbeddedStoreSource } from './analytics/source.js';
import { loadViews } from './analytics/views.js';
import type { Express } from 'express';
import { AccessAuditLog } from './audit/access-audit-log.js';
import { buildAccessEvent } from './audit/access-event.js';
import { analyticsAccounting } from './audit/analytics-disclosure.js';
import { createAuthenticator } from './auth/authenticator.js';
import { createSyncCredential } from './auth/internal-credential.js';
import { createJwtVerifier } from './auth/jwt.js';
import { KeyRegistry } from './auth/key-registry.js';
import { resolveApiTokens } from './auth-tokens.js';
import { prepareDataDir, warnLooseModes } from './data-dir.js';
import { accessAuditRouter } from './http/routes/access-audit.js';
import type { Config } from './config.js';
import { createConsentGate } from './consent/gate.js';
import { identifiedAccessAuditEntry, identifiedAccessRecorder, type OnIdentifiedAccess } from './deid/identified-access.js';
import { createDeidentifier, loadDeidPolicy, resolveDeidKey, type DeidPolicy } from './deid/index.js';
import { createExports, type Exports } from './exports/index.js';
import { loadFhirDefinitions } from './fhir/definitions.js';
import { createTargetAuth, staticTokenSource } from './fhir/auth/index.js';
import { createKitClientTarget } from './fhir/kit-client.js';
import type { FhirTarget } from './fhir/port.js';
import { createEmbeddedFhirServer, getTargetProfile } from './fhir-server/index.js';
import { createApp } from './http/app.js';
import { disclosuresRouter } from './http/routes/disclosures.js';
import { deadLettersRouter } from './http/routes/dead-letters.js';
import { statusRouter } from './http/routes/status.js';
import { Intake } from './intake/accept.js';
import { createLogger, type Logger } from './logger.js';
import { loadMappings } from './mapping/index.js';
import { setUpLocalCopy } from './local-copy/index.js';
import { mapRouter } from './http/routes/map.js';
import { viewDefinitionRunRouter } from './http/routes/viewdefinition-run.js';
import { loadProfiles } from './profiles/pack.js';
import { useProfilePack } from './profiles/validate.js';
import type { Store } from './store/port.js';
import { openStore } from './store/open-store.js';
import { intakeWakeEvent } from './sync/wait-keys.js';
import { SyncWorker } from './sync/worker.js';
import { IntakeGate } from './http/middleware/intake-gate.js';
import { clientDisclosuresRouter } from './http/routes/client-disclosures.js';
import { importJobsListRouter } from './http/routes/import-jobs-list.js';
import { meRouter } from './http/routes/me.js';
import { openapiRouter } from './http/routes/openapi.js';
import { readyzRouter } from './http/routes/readyz.js';
import { recordDetailRouter } from './http/routes/record-detail.js';
import { recordsQueryRouter } from './http/routes/records-query.js';
import { remapRouter } from './http/routes/remap.js';
import { syncHealthRouter } from './http/routes/sync-health.js';
import { CapabilityProbe } from './metrics/capability-probe.js';
import { createServiceMetrics, statusClassOf, type ServiceMetrics } from './metrics/index.js';

export const EMBEDDED_TARGET = 'embedded';

export interface RunningService {
  url: string;
  port: number;
  apiTokens: string[];
  store: Store;
  worker: SyncWorker;
  logger: Logger;
  /** The de-identification policy (DEID_POLICY) and key (DEID_KEY) for views and exports. */
  deid: { policy: DeidPolicy; key: string };
  /** $export and $viewdefinition-export (over the embedded store, or the copy of what was sent to an external target). */
  exports?: Exports;
  /** The express app (the route-table and OpenAPI tests walk its routes). */
  app: Express;
  metrics: ServiceMetrics;
  /** Closed by close(): writes answer 503 while the service stops. */
  intakeGate: IntakeGate;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream;
  /** The clock of export expiry (tests move it forward). */
  now?: () => Date;
  /**
   * Called, and awaited, before every identified view run, export or download (`deidentify=false`): the
   * access audit (issue #10) plugs in here. A hook that throws stops the access. The service logs each one
   * (ids and types only) whether or not a hook is given.
   */
  onIdentifiedAccess?: OnIdentifiedAccess;
  /** false: keep no copy of what is sent to an external target (bench/local-copy.ts measures its cost). Default true. */
  localCopy?: boolean;
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
  // 0700 folder, umask 077 (every file we create is 0600), a warning for anything looser.
  warnLooseModes(prepareDataDir(config.dataDir), config.dataDir, logger);
  const apiTokens = resolveApiTokens(config, logger);
  const sec = config.security;
  // An invalid keys file stops the start here, naming every problem.
  const keys = sec.keysFile ? new KeyRegistry(sec.keysFile, logger) : undefined;
  keys?.watch();
  // The sync's own credential for the embedded server: made now, held in memory only.
  const syncCredential = config.fhirBaseUrl ? undefined : createSyncCredential();
  const authenticator = createAuthenticator({
    adminTokens: apiTokens,
    keys,
    jwt: sec.jwt ? createJwtVerifier(sec.jwt) : undefined,
    internal: syncCredential ? [syncCredential] : [],
  });
  loadFhirDefinitions();
  const mappings = loadMappings();
  // The profile pack (profiles/), parsed once: every outbound resource is validated against its profile.
  const profiles = loadProfiles({ ns: config.identifierNamespace });
  useProfilePack(profiles);
  // A broken de-identification policy stops the start, like a broken mapping.
  const deidPolicy = loadDeidPolicy(undefined, config.deid.policy);
  const deidKey = resolveDeidKey(config.deid.key, config.dataDir);
  logger.info('de-identification', { policy: deidPolicy.id, keySource: deidKey.source, ...(deidKey.file ? { keyFile: deidKey.file } : {}) });
  // views/: checked like mappings; a broken view stops the start.
  const views = loadViews();
  // DATABASE_URL: the PostgreSQL store shared by several instances (docs/postgres.md); else the embedded SQLite.
  const store: Store = await openStore(config, { instanceId: config.instanceId });
  const accessLog = new AccessAuditLog({
    store: store.accessAudit,
    logger,
    retentionDays: sec.accessAudit.retentionDays,
    flushMs: sec.accessAudit.flushMs,
  });
  // Import jobs still running belonged to a process that is gone: they say how far they had committed.
  await store.importJobs.failInterruptedJobs(new Date());

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
  // With an external target: the copy of what was sent there (src/local-copy), read-only at /fhir; none
  // with a shared PostgreSQL store (/fhir then answers 501).
  const localCopy = config.fhirBaseUrl && options.localCopy !== false
    ? setUpLocalCopy({ dataDir: config.dataDir, targetName, ns: config.identifierNamespace, sharedStore: !!config.databaseUrl, baseUrl: () => `${publicUrl}/fhir`, logger })
    : undefined;
  // Views and exports read the embedded store (or the copy), and the local AuditEvents (the disclosures
  // view), through read-only connections of their own.
  const fhirDbPath = embedded ? join(config.dataDir, 'fhir.sqlite') : localCopy?.dbPath;
  const fhirSource = fhirDbPath ? new EmbeddedStoreSource(fhirDbPath) : undefined;
  const auditSource = new LocalAuditSource(join(config.dataDir, 'collateral.sqlite'));
  const source = fhirSource ? routedSource({ AuditEvent: auditSource }, fhirSource) : undefined;
  // Identified output (deidentify=false) is recorded in the access audit before any data leaves.
  const auditIdentified: OnIdentifiedAccess = (event) => {
    const entry = identifiedAccessAuditEntry(event);
    accessLog.record(
      buildAccessEvent({
        ns: config.identifierNamespace,
        mrnSystem: config.mrnSystem,
        who: event.who,
        interaction: event.action === '$viewdefinition-run' ? 'operation' : 'export',
        route: entry.route,
        status: 200,
        clientMrns: [],
        items: entry.items,
      })
    );
  };
  const onIdentifiedAccess = identifiedAccessRecorder(logger, auditIdentified, options.onIdentifiedAccess);
  // ...and, once produced, in the accounting of disclosures: one entry per client it contained.
  const accounting = analyticsAccounting({ audit: store.audit, source, ns: config.identifierNamespace, mrnSystem: config.mrnSystem, now: options.now });
  const exports = source
    ? createExports({
        dataDir: config.dataDir,
        source,
        baseUrl: () => `${publicUrl}/fhir`,
        policy: deidPolicy,
        deidKey: deidKey.key,
        retentionHours: config.exports.retentionHours,
        logger,
        now: options.now,
        views: viewExportDeps(views),
        onIdentifiedAccess,
        accounting,
      })
    : undefined;

  // The worker needs the listening port, so it is created after the app; until then a wake is a no-op.
  let wakeWorker = (): void => {};
  // Operations (issue #13): metrics (the import jobs' progress is read from the store when scraped).
  const metrics = createServiceMetrics({
    status: store.status,
    runningImportJobs: async () => (await Promise.all(intake.jobs.runningIds().map((id) => store.importJobs.getJob(id)))).filter((j) => j !== undefined),
  });
  const intake = new Intake({
    store,
    targets: [targetName],
    // Held records waiting for what just arrived (a consent, a participant, a session...) become due now.
    onAccepted: (changed) => {
      void store.outbox
        .wake(intakeWakeEvent(changed))
        .catch((err: unknown) => logger.error('sync wake-up failed', { error: err instanceof Error ? err.name : typeof err }))
        .then(() => wakeWorker());
    },
    logger,
    onJobLines: (results) => metrics.intake.observeLines(results),
  });
  // The intake gate for shutdown, readiness, the console's API.
  const intakeGate = new IntakeGate();
  // The sync's FhirTarget needs the listening port, so it is made after the app; these read it then.
  const targetRef: { current?: FhirTarget } = {};
  const capabilities = new CapabilityProbe(() => targetRef.current);
  const consentGate = createConsentGate(store, { timeZone: config.practiceTimeZone });
  const consoleMapping = { ns: config.identifierNamespace, mrnSystem: config.mrnSystem, includeNonFamilyContactDetails: config.includeNonFamilyContactDetails };
  const app = createApp({
    logger,
    apiTokens,
    intake,
    store,
    bodyLimitBytes: config.bodyLimitBytes,
    importLimitBytes: config.importLimitBytes,
    fhirRouter: embedded?.router ?? localCopy?.router,
    fhirOperationRouters: [
      viewDefinitionRunRouter({
        views,
        source,
        // De-identified by default: every resource read from the store passes the policy before a view sees it.
        transform: createDeidentifier(deidPolicy, deidKey.key),
        onIdentifiedAccess,
        accounting,
        limitBytes: config.importLimitBytes,
      }),
      ...(exports ? [exports.router] : []),
    ],
    authenticator,
    limits: sec.limits,
    handlerTimeoutMs: sec.http.handlerTimeoutMs,
    trustProxy: sec.http.trustProxy,
    accessAudit: { log: accessLog, ns: config.identifierNamespace, mrnSystem: config.mrnSystem },
    apiRouters: [
      accessAuditRouter(store),
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
      meRouter(),
      recordsQueryRouter(store),
      recordDetailRouter({
        store,
        mappings,
        pack: profiles,
        mappingConfig: consoleMapping,
        gate: consentGate,
        target: (name) => (name === targetName ? targetRef.current : undefined),
      }),
      remapRouter({ store, mappings, pack: profiles, config: consoleMapping, gate: consentGate, target: targetName }),
      syncHealthRouter(store, [
        {
          name: targetName,
          url: () => config.fhirBaseUrl ?? `${publicUrl}/fhir`,
          embedded: !config.fhirBaseUrl,
          auth: config.fhirBaseUrl ? config.fhirAuth.type : 'internal',
          token: () => targetAuth?.source.describe?.(),
          health: metrics.targetHealth,
          capabilities,
        },
      ]),
      clientDisclosuresRouter(store, config.identifierNamespace),
      importJobsListRouter(store),
      openapiRouter(),
    ],
    jwks: targetAuth?.jwks,
    publicRouters: [readyzRouter(store, intakeGate, capabilities)],
    metrics,
    intakeGate,
  });

  const server: Server = await new Promise((resolve, reject) => {
    // Slow headers are cut off (408, slowloris), checked every second. No deadline on a whole request by
    // default (HTTP_REQUEST_TIMEOUT_MS=0): an import job streams its body for as long as the file takes.
    // Slow bodies elsewhere are bounded by the handler timeout, and an error answered before the body
    // was read closes the connection (http/middleware/close-unread-body.ts). docs/security.md section 7.
    const s = createServer(
      { requestTimeout: sec.http.requestTimeoutMs, headersTimeout: sec.http.headersTimeoutMs, connectionsCheckingInterval: 1000 },
      app
    );
    s.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // A client that stalls (no byte for 2 minutes, also mid-upload) is dropped by the idle timeout.
  server.setTimeout(120_000);
  const port = (server.address() as AddressInfo).port;
  const loopbackHost = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  publicUrl = `http://${loopbackHost.includes(':') ? `[${loopbackHost}]` : loopbackHost}:${port}`;

  // The sync reaches the embedded server over HTTP, exactly as it would reach an external one.
  const kitTarget = createKitClientTarget({
    name: targetName,
    baseUrl: config.fhirBaseUrl ?? `${publicUrl}/fhir`,
    // Never an API token: the embedded server knows the sync by its internal credential (role fhir-sync).
    auth: targetAuth?.source ?? staticTokenSource(() => syncCredential?.token),
    timeoutMs: config.sync.requestTimeoutMs,
    onResponse: (r) => {
      metrics.sync.observeTargetResponse(statusClassOf(r.status), r.operation, r.ms);
      metrics.targetHealth.observe(r.status, r.retryAfterSeconds);
    },
  });
  // Every write the target confirms is kept in the copy before the outbox settles (local-copy/recording-target.ts).
  const target = localCopy ? localCopy.wrapTarget(kitTarget) : kitTarget;
  targetRef.current = target;
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
    heldRecheckMs: config.sync.heldRecheckMs,
    maxBundleEntries: config.sync.maxBundleEntries,
    // Consent is checked per participant right before every send (and again on every retry or replay).
    gate: consentGate,
    metrics: metrics.sync,
    // The copy of what was sent holds everything the target confirmed before the outbox settles.
    beforeSettle: localCopy?.beforeSettle(target, store),
  });
  wakeWorker = () => worker.wake();
  // Ask for the target's token now, so a refused credential or a scope that lacks our writes is in the
  // log at start (oauth-source.ts says which permissions), not at the first record.
  targetAuth?.source.token().catch((err: unknown) => {
    logger.warn('no access token for the FHIR target at start; the sync will keep trying', {
      error: err instanceof Error ? err.message : 'token request failed',
    });
  });
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
    deid: { policy: deidPolicy, key: deidKey.key },
    exports,
    app,
    metrics,
    intakeGate,
    async close() {
      // Intake first (writes answer 503 + Retry-After; running import jobs stop, each saying how far it
      // committed), then the sync: sends still in flight after SYNC_SHUTDOWN_GRACE_MS are abandoned safely
      // (unknown outcome: the next attempt looks before writing; leases are released when the store opens again).
      intakeGate.close();
      await intake.close();
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        worker.stop().then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), config.sync.shutdownGraceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!finished) {
        logger.warn('sends still in flight at shutdown were abandoned; they are retried after the restart', { waitedMs: config.sync.shutdownGraceMs });
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await exports?.close();
      fhirSource?.close();
      await localCopy?.close();
      auditSource.close();
      keys?.stop();
      await accessLog.close();
      embedded?.close();
      await store.close();
    },
  };
}
