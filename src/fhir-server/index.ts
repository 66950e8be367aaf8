/**
 * The embedded FHIR R4 server: medplum's FhirRouter over a SQLite-backed repository, exposed as an
 * express Router. The service mounts it at /fhir when no external FHIR server is configured, and the
 * sync talks to it over HTTP exactly as it would to an external one.
 */
import type express from 'express';
import { openFhirDatabase } from './database.js';
import type { FhirServerLogger } from './http.js';
import { createFhirHttpRouter } from './http.js';
import { SqliteFhirRepository } from './sqlite-repository.js';

export { openFhirDatabase } from './database.js';
export type { FhirDatabase } from './database.js';
export { createFhirHttpRouter } from './http.js';
export type { FhirHttpRouterOptions, FhirServerLogger } from './http.js';
export { SqliteFhirRepository } from './sqlite-repository.js';

/** Options of createEmbeddedFhirServer. */
export interface EmbeddedFhirServerOptions {
  /** The SQLite file (created with its folder when missing). */
  dbPath: string;
  /** The public base URL of the FHIR API (…/fhir). */
  baseUrl: () => string;
  logger?: FhirServerLogger;
}

/** A running embedded FHIR server. */
export interface EmbeddedFhirServer {
  /** Mount at /fhir. */
  router: express.Router;
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
  const repo = new SqliteFhirRepository(db);
  const router = createFhirHttpRouter({ repo, baseUrl: options.baseUrl, logger: options.logger });
  return {
    router,
    repo,
    close: () => {
      if (db.open) {
        db.close();
      }
    },
  };
}
