/**
 * POST /fhir/$viewdefinition-run (SQL-on-FHIR v2, system level, synchronous): parameters and
 * refusals come from src/analytics/run; this file only streams the chunks with backpressure. The
 * status is sent with the first chunk (the first ~64 KiB of output), so a view that fails on its
 * first resources still answers with an OperationOutcome; a failure after that aborts the response
 * (the client sees an incomplete transfer) and is logged.
 */
import { once } from 'node:events';
import express, { type Request, type Response, type Router } from 'express';
import { principalOf } from '../../auth/principal.js';
import { parseRunParameters } from '../../analytics/run/parameters.js';
import { startViewRun, type ViewRunDeps } from '../../analytics/run/run.js';
import type { Logger } from '../../logger.js';

export interface ViewRunRouteDeps extends ViewRunDeps {
  /** Largest request body (inline resources can be many). */
  limitBytes: number;
}

const JSON_TYPES = ['application/fhir+json', 'application/json'];

export function viewDefinitionRunRouter(deps: ViewRunRouteDeps): Router {
  const router = express.Router();
  const json = express.json({ type: JSON_TYPES, limit: deps.limitBytes });

  router.post('/$viewdefinition-run', json, async (req: Request, res: Response) => {
    const params = parseRunParameters(req.body, req.query as Record<string, unknown>);
    // The access audit (route table: subject 'operation') records the patients and groups a run was restricted to.
    res.locals.auditDetail = {
      items: [...(params.patient ? [{ reference: `Patient/${params.patient}` }] : []), ...(params.groups ?? []).map((g) => ({ reference: `Group/${g}` }))],
    };
    const run = await startViewRun(params, principalOf(res.locals), deps);
    const chunks = run.chunks[Symbol.asyncIterator]();
    const first = await chunks.next(); // an error here still becomes an OperationOutcome
    res.status(200).setHeader('Content-Type', run.contentType);
    if (run.format === 'parquet') {
      res.setHeader('Content-Disposition', `attachment; filename="${run.viewName}.parquet"`);
    }
    const logger = res.locals.logger as Logger;
    try {
      let next = first;
      while (!next.done) {
        if (res.destroyed) {
          await chunks.return?.(undefined); // the client went away: stop reading
          return;
        }
        if (!res.write(next.value)) {
          // The listener of the event that did not come is removed: left behind, one per full buffer,
          // they piled up on long runs (MaxListenersExceededWarning on every 100,000-row response).
          const done = new AbortController();
          try {
            await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
          } finally {
            done.abort();
          }
        }
        next = await chunks.next();
      }
      res.end();
    } catch (err) {
      logger.error('view run failed while streaming', {
        view: run.viewName,
        error: err instanceof Error ? err.name : typeof err,
        outcome: (err as { outcome?: { id?: string } }).outcome?.id,
      });
      res.destroy();
    }
  });

  return router;
}
