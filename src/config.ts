/**
 * Configuration from environment variables, validated once at start-up. Every bad or missing value is
 * reported in one error, in plain sentences, so an operator fixes them all in one go.
 */
import { hostname } from 'node:os';
import { COMMIT_SYNC_MODES, type CommitSync } from './store/sqlite/commit-sync.js';
import { isAbsolute, resolve } from 'node:path';
import { readFhirAuthSettings, type FhirAuthSettings } from './fhir/auth/settings.js';
import { PROFILE_NAMES, type ProfileName } from './fhir-server/target-profiles.js';
import { isValidTimeZone } from './consent/time.js';
import { readSecuritySettings, type SecuritySettings } from './auth/settings.js';

export type { FhirAuthType } from './fhir/auth/settings.js';

export interface Config {
  /** HTTP port; 0 picks a free one (tests). */
  port: number;
  /** Interface to listen on. Loopback by default: this service holds PHI. */
  host: string;
  /** Folder for the embedded store, the embedded FHIR server's database and the generated API token. */
  dataDir: string;
  /**
   * How the embedded store makes an intake group commit durable (STORE_COMMIT_SYNC): `full`, SQLite's
   * synchronous=FULL (the fsync on the commit's own thread); `wal-fdatasync`, the WAL synced on the
   * thread pool before anyone is answered (src/store/sqlite/wal-sync.ts). Both fsync before answering.
   */
  storeCommitSync: CommitSync;
  /** Accepted bearer tokens; undefined = generate one at first start (see auth-tokens.ts). */
  apiTokens?: string[];
  /** The sync target; undefined = the embedded FHIR server at /fhir. */
  fhirBaseUrl?: string;
  /** How the sync authenticates to FHIR_BASE_URL (FHIR_AUTH_*; see docs/target-authentication.md). */
  fhirAuth: FhirAuthSettings;
  /** Identifier system of client MRNs on the target (the EHR's). */
  mrnSystem: string;
  /** The practice-owned namespace for our identifier systems and code systems. */
  identifierNamespace: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Largest accepted JSON body of a single record, in bytes. */
  bodyLimitBytes: number;
  /** Largest accepted NDJSON import body, in bytes. */
  importLimitBytes: number;
  sync: {
    enabled: boolean;
    /** How often the worker looks for due outbox entries when not woken by a write. */
    pollIntervalMs: number;
    /** Records processed at once (at most one per client). */
    concurrency: number;
    /** Backoff bounds for failed or held records. */
    minBackoffMs: number;
    maxBackoffMs: number;
    /** Timeout of one request to the FHIR server. */
    requestTimeoutMs: number;
    /** Transient failures of one record version before it is parked as a dead letter (SYNC_MAX_ATTEMPTS). */
    maxAttempts: number;
    /** How long a record may keep failing before it is parked (SYNC_MAX_AGE_MS). */
    maxAgeMs: number;
    /** auto (from the CapabilityStatement), or force transaction, batch or sequential (SYNC_WRITE_MODE). */
    writeMode: 'auto' | 'transaction' | 'batch' | 'sequential';
    /** Send a consent's signed form as a DocumentReference (LOINC 64292-6) where the target writes those (SYNC_ROI_DOCUMENT). */
    roiDocument: boolean;
    /** How long the target's CapabilityStatement is trusted before it is read again (SYNC_CAPABILITIES_TTL_MS). */
    capabilitiesTtlMs: number;
    /** The practice Organization's identifier value in Provenance: `{ns}/sid/organization|{value}` (PRACTICE_ORGANIZATION_ID). */
    practiceOrganizationId: string;
    /** The slow periodic recheck of a held record no event released (SYNC_HELD_RECHECK_MS). */
    heldRecheckMs: number;
    /** Most entries in one transaction or batch Bundle sent to the target (SYNC_MAX_BUNDLE_ENTRIES); 1 sends each record alone. */
    maxBundleEntries: number;
    /** How long a stop (SIGTERM) waits for sends in flight before abandoning them safely (SYNC_SHUTDOWN_GRACE_MS). */
    shutdownGraceMs: number;
  };
  /** Minimum necessary: contact details of non-family participants are left out unless this is true. */
  includeNonFamilyContactDetails: boolean;
  /** What the embedded FHIR server accepts, as an EHR would (EMBEDDED_FHIR_PROFILE; target-profiles.ts). */
  embeddedFhirProfile: ProfileName;
  /** IANA time zone in which consent period dates are read: a date runs 00:00 to 24:00 there. */
  practiceTimeZone: string;
  /** PostgreSQL store shared by several instances (DATABASE_URL; docs/postgres.md); undefined = the embedded SQLite store. */
  databaseUrl?: string;
  /** This instance's stable name on a shared store (INSTANCE_ID; default: host name and data folder). */
  instanceId: string;
  /** De-identification of analytics and exports (docs/deidentification.md). */
  deid: {
    /** DEID_KEY: the secret behind pseudonyms and date shifts; undefined = generated into DATA_DIR/deid-key. */
    key?: string;
    /** DEID_POLICY: which deidentify/<id>.json applies (default safe-harbor). */
    policy: string;
  };
  /** Bulk exports ($export, $viewdefinition-export; docs/exports.md). */
  exports: {
    /** EXPORT_RETENTION_HOURS: how long result files are kept after a job ends (at least 24). */
    retentionHours: number;
  };
  /** Named keys, JWTs, rate limits, HTTP timeouts, access-audit retention (auth/settings.ts; docs/security.md). */
  security: SecuritySettings;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

class Collector {
  readonly problems: string[] = [];

  int(env: Env, key: string, dflt: number, min: number, max: number): number {
    const raw = env[key];
    if (raw === undefined || raw === '') {
      return dflt;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return dflt;
    }
    return n;
  }

  bool(env: Env, key: string, dflt: boolean): boolean {
    const raw = env[key];
    if (raw === undefined || raw === '') {
      return dflt;
    }
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) {
      return true;
    }
    if (['false', '0', 'no'].includes(raw.toLowerCase())) {
      return false;
    }
    this.problems.push(`${key} must be true or false (got "${raw}")`);
    return dflt;
  }

  url(env: Env, key: string, dflt?: string): string | undefined {
    const raw = env[key];
    if (raw === undefined || raw === '') {
      return dflt;
    }
    try {
      const u = new URL(raw);
      if (!['http:', 'https:', 'urn:'].includes(u.protocol)) {
        throw new Error('protocol');
      }
      return raw.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${key} must be an absolute http(s) or urn URL (got "${raw}")`);
      return dflt;
    }
  }

  oneOf<T extends string>(env: Env, key: string, allowed: readonly T[], dflt: T): T {
    const raw = env[key];
    if (raw === undefined || raw === '') {
      return dflt;
    }
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${key} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return dflt;
    }
    return raw as T;
  }
}

/**
 * Reads and validates the configuration.
 * @param env - the environment (process.env in production).
 * @returns a frozen Config.
 * @throws Error naming every problem.
 */
export function loadConfig(env: Env): Config {
  const c = new Collector();
  const port = c.int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const dataDirRaw = env.DATA_DIR || './data';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(process.cwd(), dataDirRaw);

  let apiTokens: string[] | undefined;
  if (env.API_TOKENS !== undefined && env.API_TOKENS.trim() !== '') {
    apiTokens = env.API_TOKENS.split(',').map((t) => t.trim());
    if (apiTokens.some((t) => t.length < 16)) {
      c.problems.push('API_TOKENS must be comma-separated tokens of at least 16 characters each');
    }
  }

  const security = readSecuritySettings(env);
  c.problems.push(...security.problems);

  const fhirBaseUrl = c.url(env, 'FHIR_BASE_URL');
  const fhirAuth = readFhirAuthSettings(env, fhirBaseUrl);
  c.problems.push(...fhirAuth.problems);

  const mrnSystem = c.url(env, 'MRN_SYSTEM', 'https://fhir.example-hospital.org/sid/mrn') as string;
  const identifierNamespace = c.url(env, 'IDENTIFIER_NAMESPACE', 'https://fhir.example-practice.org') as string;
  const logLevel = c.oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  const bodyLimitBytes = c.int(env, 'BODY_LIMIT_BYTES', 15 * 1024 * 1024, 1024, 200 * 1024 * 1024);
  const importLimitBytes = c.int(env, 'IMPORT_LIMIT_BYTES', 100 * 1024 * 1024, 1024, 1024 * 1024 * 1024);
  const minBackoffMs = c.int(env, 'SYNC_MIN_BACKOFF_MS', 1000, 10, 3_600_000);
  const maxBackoffMs = c.int(env, 'SYNC_MAX_BACKOFF_MS', 300_000, 10, 86_400_000);
  const embeddedFhirProfile = c.oneOf(env, 'EMBEDDED_FHIR_PROFILE', PROFILE_NAMES, 'full');
  if (embeddedFhirProfile !== 'full' && fhirBaseUrl) {
    c.problems.push('EMBEDDED_FHIR_PROFILE applies to the embedded FHIR server only; unset it or FHIR_BASE_URL');
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    // The value is not repeated: it may hold a password.
    c.problems.push('DATABASE_URL must be a PostgreSQL URL: postgres://user:password@host:5432/database');
  }
  if (databaseUrl !== undefined && !fhirBaseUrl) {
    // The embedded FHIR server keeps its data in this instance's DATA_DIR (SQLite): instances sharing a
    // database would each serve a different /fhir. See docs/postgres.md.
    c.problems.push(
      'DATABASE_URL is set but FHIR_BASE_URL is not: the embedded FHIR server stores its data in one instance\'s DATA_DIR, so instances sharing PostgreSQL need an external FHIR server; set FHIR_BASE_URL (or unset DATABASE_URL to use the embedded store and FHIR server)'
    );
  }
  const deidKey = env.DEID_KEY || undefined;
  if (deidKey !== undefined && deidKey.length < 32) {
    c.problems.push('DEID_KEY must be at least 32 characters (a random secret; unset it to have one generated into DATA_DIR/deid-key)');
  }
  const deidPolicy = env.DEID_POLICY || 'safe-harbor';
  if (!/^[a-z][a-z0-9-]*$/.test(deidPolicy)) {
    c.problems.push(`DEID_POLICY must be the id of a policy in deidentify/ (lower-case letters, digits and '-'; got "${deidPolicy}")`);
  }
  if (maxBackoffMs < minBackoffMs) {
    c.problems.push('SYNC_MAX_BACKOFF_MS must not be smaller than SYNC_MIN_BACKOFF_MS');
  }
  const config: Config = {
    port,
    host,
    dataDir,
    apiTokens,
    fhirBaseUrl,
    fhirAuth: fhirAuth.settings,
    mrnSystem,
    identifierNamespace,
    logLevel,
    storeCommitSync: c.oneOf(env, 'STORE_COMMIT_SYNC', COMMIT_SYNC_MODES, 'full'),
    bodyLimitBytes,
    importLimitBytes,
    sync: {
      enabled: c.bool(env, 'SYNC_ENABLED', true),
      pollIntervalMs: c.int(env, 'SYNC_POLL_INTERVAL_MS', 1000, 10, 600_000),
      concurrency: c.int(env, 'SYNC_CONCURRENCY', 4, 1, 64),
      minBackoffMs,
      maxBackoffMs,
      requestTimeoutMs: c.int(env, 'FHIR_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
      maxAttempts: c.int(env, 'SYNC_MAX_ATTEMPTS', 10, 1, 1000),
      maxAgeMs: c.int(env, 'SYNC_MAX_AGE_MS', 86_400_000, 1000, 30 * 86_400_000),
      writeMode: c.oneOf(env, 'SYNC_WRITE_MODE', ['auto', 'transaction', 'batch', 'sequential'] as const, 'auto'),
      roiDocument: c.bool(env, 'SYNC_ROI_DOCUMENT', false),
      capabilitiesTtlMs: c.int(env, 'SYNC_CAPABILITIES_TTL_MS', 3_600_000, 1000, 7 * 86_400_000),
      practiceOrganizationId: env.PRACTICE_ORGANIZATION_ID || 'practice',
      heldRecheckMs: c.int(env, 'SYNC_HELD_RECHECK_MS', 3_600_000, 1000, 7 * 86_400_000),
      maxBundleEntries: c.int(env, 'SYNC_MAX_BUNDLE_ENTRIES', 50, 1, 1000),
      shutdownGraceMs: c.int(env, 'SYNC_SHUTDOWN_GRACE_MS', 5000, 0, 60_000),
    },
    includeNonFamilyContactDetails: c.bool(env, 'INCLUDE_NON_FAMILY_CONTACT_DETAILS', false),
    embeddedFhirProfile,
    practiceTimeZone: env.PRACTICE_TIME_ZONE || 'UTC',
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    instanceId: env.INSTANCE_ID || `${hostname()}:${dataDir}`,
    deid: { key: deidKey, policy: deidPolicy },
    exports: { retentionHours: c.int(env, 'EXPORT_RETENTION_HOURS', 24, 24, 24 * 90) },
    security: security.settings,
  };
  if (!isValidTimeZone(config.practiceTimeZone)) {
    c.problems.push(`PRACTICE_TIME_ZONE must be an IANA time zone such as America/New_York (got "${config.practiceTimeZone}")`);
  }
  if (c.problems.length > 0) {
    throw new Error(`Invalid configuration:\n  - ${c.problems.join('\n  - ')}`);
  }
  return Object.freeze(config);
}

/** A configuration for tests: a private data dir, a free port, a fixed token, a fast sync loop. */
export function loadTestConfig(dataDir: string, overrides: Env = {}): Config {
  return loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    API_TOKENS: 'test-token-0123456789abcdef',
    LOG_LEVEL: 'error',
    SYNC_POLL_INTERVAL_MS: '50',
    SYNC_MIN_BACKOFF_MS: '50',
    SYNC_MAX_BACKOFF_MS: '500',
    FHIR_REQUEST_TIMEOUT_MS: '10000',
    ...overrides,
  });
}
