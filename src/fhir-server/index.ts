/**
 * The embedded FHIR R4 server: medplum's FhirRouter over a SQLite-backed repository, exposed as an
 * express Router. The service mounts it at /fhir when no external FHIR server is configured, and the
 * sync talks to it over HTTP exactly as it would to an external one.
 */
import express from 'express';
import { openFhirDatabase } from './database.js';
import type { FhirServerLogger } from './http.js';
import { createFhirHttpRouter } from './http.js';
import { SqliteFhirRepository } from './sqlite-repository.js';
import type { TargetProfile } from './target-profiles.js';
import { FULL, isRestricted } from './target-profiles.js';

export { openFhirDatabase } from './database.js';
export type { FhirDatabase } from './database.js';
export { createFhirHttpRouter } from './http.js';
export type { FhirHttpRouterOptions, FhirServerLogger } from './http.js';
export { SqliteFhirRepository } from './sqlite-repository.js';
export { getTargetProfile, PROFILE_NAMES } from './target-profiles.js';
export type { ProfileName, TargetProfile } from './target-profiles.js';

/** Where a restricted server also answers without restriction (the hospital's own side: seeding, counting). */
export const ADMIN_PATH = '/_admin';

/** Options of createEmbeddedFhirServer. */
export interface EmbeddedFhirServerOptions {
  /** The SQLite file (created with its folder when missing). */
  dbPath: string;
  /** The public base URL of the FHIR API (…/fhir). */
  baseUrl: () => string;
  logger?: FhirServerLogger;
  /** What the server accepts, as an EHR would (target-profiles.ts); default full. */
  profile?: TargetProfile;
}

/** A running embedded FHIR server. */
export interface EmbeddedFhirServer {
  /**
   * Mount at /fhir. Under a restricted profile it also serves `${ADMIN_PATH}/…` without restriction over
   * the same data, standing in for what the EHR does by itself (registration creates Patients, the
   * invariant test counts DocumentReferences by identifier where the profile cannot search them).
   */
  router: express.Router;
  profile: TargetProfile;
  /** The repository, for in-process reads (tests, diagnostics). */
  repo: SqliteFhirRepository;
  /** Closes the database; call after the HTTP server stopped accepting requests. */
  close(): void;
}

/**
 * Opens the database at `dbPath` and builds the FHIR router over it.
 * @param options - Database path, base URL and logger.
 * @returns The router, the repository and close().
 */
export function createEmbeddedFhirServer(options: EmbeddedFhirServerOptions): EmbeddedFhirServer {
  const db = openFhirDatabase(options.dbPath);
  // The service passes its winston logger: re-index progress then goes to info (counts only).
  const repo = new SqliteFhirRepository(db, { logger: options.logger });
  const profile = options.profile ?? FULL;
  const profiled = createFhirHttpRouter({ repo, baseUrl: options.baseUrl, logger: options.logger, profile });
  let router = profiled;
  if (isRestricted(profile)) {
    const admin = createFhirHttpRouter({ repo, baseUrl: () => `${options.baseUrl()}${ADMIN_PATH}`, logger: options.logger });
    router = express.Router();
    router.use(ADMIN_PATH, admin);
    router.use(profiled);
  }
  return {
    router,
    repo,
    profile,
    close: () => {
      if (db.open) {
        db.close();
      }
    },
  };
}
