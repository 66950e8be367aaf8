/**
 * The embedded FHIR server on its own port, with a target profile: the stand-in EHR the service syncs to
 * through FHIR_BASE_URL in the profile suites and the invariant test (possibly through the fault proxy).
 * Same code as the /fhir of `npm start`: the SQLite repository, medplum's FhirRouter, the profile
 * enforcement. Loopback only by default: it holds whatever the tests put in it.
 */
import { timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { notFound } from '@medplum/core';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { unauthenticated } from '../outcomes.js';
import type { FhirServerLogger } from './http.js';
import { ADMIN_PATH, createEmbeddedFhirServer } from './index.js';
import type { SqliteFhirRepository } from './sqlite-repository.js';
import type { MedplumLikeControl, MedplumLikeOptions } from './medplum-like.js';
import { medplumLikeProfile } from './medplum-like.js';
import { TOKEN_PATH, medplumBearer, medplumOAuthRouter } from './medplum-oauth.js';
import type { ProfileName, TargetProfile } from './target-profiles.js';
import { getTargetProfile } from './target-profiles.js';

/** Options of startStandaloneFhirServer. */
export interface StandaloneFhirOptions {
  /** A profile or its name: full, epic-like, oracle-like, medplum-like. */
  profile: ProfileName | TargetProfile;
  /**
   * Options of `medplum-like` when `profile` is its name (atomic transactions, quota, conflicts, OAuth
   * clients; see medplum-options.ts). Refused with any other profile.
   */
  medplum?: MedplumLikeOptions;
  /** Folder of the database (`fhir.sqlite`); created when missing. Reusing it keeps the data. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /**
   * When set, every request needs `Authorization: Bearer <token>` (401 otherwise). Default: none.
   * Under medplum-like with OAuth clients, the API needs a token from `/oauth2/token` instead and this
   * static token guards `/fhir/_admin` only.
   */
  token?: string;
  logger?: FhirServerLogger;
}

/** A running standalone FHIR server. */
export interface StandaloneFhirServer {
  /** The FHIR base URL, `http://127.0.0.1:<port>/fhir`: what FHIR_BASE_URL points at. */
  url: string;
  /** The same data without the profile's restrictions, `…/fhir/_admin` (equal to url under full). */
  adminUrl: string;
  port: number;
  profile: TargetProfile;
  /** Under medplum-like: its controls (quota, injected failures, OAuth clients, counters). */
  medplum?: MedplumLikeControl;
  /** Under medplum-like with OAuth clients: `http://127.0.0.1:<port>/oauth2/token`. */
  tokenUrl?: string;
  /** In-process access to the stored resources (tests, diagnostics). */
  repo: SqliteFhirRepository;
  /** Stops accepting requests, drops open connections, closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the embedded FHIR server alone, with a profile.
 * @param options - Profile, data folder, address and optional bearer token.
 * @returns Its URLs, the repository and close().
 */
export async function startStandaloneFhirServer(options: StandaloneFhirOptions): Promise<StandaloneFhirServer> {
  const profile = resolveProfile(options);
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.dataDir, { recursive: true });
  loadFhirDefinitions();
  let url = '';
  const fhir = createEmbeddedFhirServer({
    dbPath: join(options.dataDir, 'fhir.sqlite'),
    baseUrl: () => url,
    logger: options.logger,
    profile,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const medplum = fhir.medplum;
  if (medplum?.oauth) {
    app.use(medplumOAuthRouter(medplum, '/fhir'));
    if (options.token) {
      app.use(`/fhir${ADMIN_PATH}`, requireToken(options.token));
    }
    app.use('/fhir', medplumBearer(medplum));
  } else if (options.token) {
    app.use(requireToken(options.token));
  }
  app.use('/fhir', fhir.router);
  app.use((_req, res) => {
    res.status(404).type('application/fhir+json').send(JSON.stringify(notFound));
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(options.port ?? 0, host, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    fhir.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  url = `${origin}/fhir`;
  if (medplum?.oauth) {
    medplum.tokenUrl = `${origin}${TOKEN_PATH}`;
  }
  return {
    url,
    adminUrl: profile.name === 'full' ? url : `${url}${ADMIN_PATH}`,
    port,
    profile,
    ...(medplum ? { medplum } : {}),
    ...(medplum?.tokenUrl ? { tokenUrl: medplum.tokenUrl } : {}),
    repo: fhir.repo,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      fhir.close();
    },
  };
}

function resolveProfile(options: StandaloneFhirOptions): TargetProfile {
  if (typeof options.profile !== 'string') {
    if (options.medplum) {
      throw new Error('medplum options go with the profile name "medplum-like", not with a profile object');
    }
    return options.profile;
  }
  if (options.medplum) {
    if (options.profile !== 'medplum-like') {
      throw new Error(`medplum options apply to the medplum-like profile only (profile: ${options.profile})`);
    }
    return medplumLikeProfile(options.medplum);
  }
  return getTargetProfile(options.profile);
}

/** A fixed bearer token, compared in constant time (OAuth flows are proven against their own test servers). */
function requireToken(token: string) {
  const expected = Buffer.from(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    const given = m ? Buffer.from(m[1]) : undefined;
    if (given && given.length === expected.length && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="collateral-fhir-target"');
    res.status(401).type('application/fhir+json').send(JSON.stringify(unauthenticated('A valid bearer token is required')));
  };
}
