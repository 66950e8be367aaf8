/**
 * `/fhir` over the copy: the embedded server's own HTTP router (http.ts) over the copy's repository, so
 * read and search answer exactly as on the embedded server (same search index, paging, errors, access
 * audit of what was read), behind a guard that lets through only read, search-type (GET, or POST
 * Type/_search) and operations, and answers everything else with a 405 OperationOutcome saying why.
 * The analytics operations ($viewdefinition-run, $viewdefinition-export, $export) are mounted before
 * this router by the service, over the same copy.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { createFhirHttpRouter, type FhirServerLogger } from '../fhir-server/http.js';
import type { SqliteFhirRepository } from '../fhir-server/sqlite-repository.js';
import { notAllowedBecause, OperationOutcomeError } from '../outcomes.js';
import { copyCapabilityStatement } from './capability.js';

/** Options of readOnlyCopyRouter. */
export interface ReadOnlyCopyRouterOptions {
  repo: SqliteFhirRepository;
  /** The service's public …/fhir. */
  baseUrl: () => string;
  /** The target copied (its FHIR_BASE_URL), named in every refusal. */
  targetName: string;
  logger?: FhirServerLogger;
}

/**
 * @param o - The copy's repository, base URL and target.
 * @returns An express Router to mount at /fhir.
 */
export function readOnlyCopyRouter(o: ReadOnlyCopyRouterOptions): express.Router {
  const router = express.Router();
  router.get('/metadata', (_req: Request, res: Response) => {
    res.status(200).type('application/fhir+json').send(JSON.stringify(copyCapabilityStatement(o.baseUrl().replace(/\/+$/, ''), o.targetName)));
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const why = refusal(req.method, req.path, o.targetName);
    if (why) {
      res.setHeader('Allow', 'GET');
      next(new OperationOutcomeError(notAllowedBecause(why)));
      return;
    }
    next();
  });
  router.use(createFhirHttpRouter({ repo: o.repo, baseUrl: o.baseUrl, logger: o.logger }));
  return router;
}

/**
 * Why a request is refused, or undefined to serve it.
 * @param method - HTTP method.
 * @param path - The path below /fhir.
 * @param target - The target copied.
 */
export function refusal(method: string, path: string, target: string): string | undefined {
  const segments = path.split('/').filter(Boolean);
  const operation = segments.some((s) => s.startsWith('$'));
  if (method === 'GET' || method === 'HEAD') {
    if (segments.includes('_history')) {
      return `this /fhir is a read-only copy of what was sent to ${target}: it keeps the last version the target confirmed, without history; read the history on ${target}`;
    }
    if (segments.length === 0) {
      return `this /fhir is a read-only copy of what was sent to ${target}: it offers read and search by type (GET /fhir/{type}), not system search`;
    }
    return undefined;
  }
  if (method === 'POST' && (operation || (segments.length === 2 && segments[1] === '_search'))) {
    return undefined;
  }
  const what = method === 'POST' && segments.length === 0 ? 'a batch or transaction Bundle' : `${method} (a write)`;
  return `this /fhir is a read-only copy of what was sent to ${target}: ${what} is not allowed here; write to ${target} instead (records go there through the sync)`;
}
