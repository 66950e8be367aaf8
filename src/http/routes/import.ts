/**
 * POST /api/v1/import: NDJSON, one `{"kind": ..., "record": {...}}` per line, read as a stream and
 * stored in chunks through the intake's group commit (the same path as PUTs).
 * - Synchronous (small bodies, up to IMPORT_LIMIT_BYTES): answers at the end with a result per line.
 * - `Prefer: respond-async`: a job (no size limit): 202 Accepted at once with
 *   `Content-Location: /api/v1/import/{jobId}`; the body is read after the answer (import-jobs.ts).
 * A line over BODY_LIMIT_BYTES is rejected by number and the rest goes on; a body that breaks off keeps
 * every complete line and drops the unfinished one. The job routes are in import-jobs.ts.
 */
import { badRequest } from '@medplum/core';
import express, { type Router } from 'express';
import { principalOf } from '../../auth/principal.js';
import { Intake, type IntakeDeps } from '../../intake/accept.js';
import { runImport } from '../../intake/import-run.js';
import { fail, tooLarge } from '../../outcomes.js';
import { checkImportMediaType, importBody, prefersAsync } from './import-body.js';
import { importJobsRouter, jobView } from './import-jobs.js';

export interface ImportLimits {
  /** The longest line (BODY_LIMIT_BYTES, the single-record limit). */
  lineLimitBytes: number;
  /** The largest synchronous body (IMPORT_LIMIT_BYTES); jobs have none. */
  syncLimitBytes: number;
}

/**
 * @param deps - the service's intake (or its dependencies, for tests that build the app alone).
 */
export function importRouter(deps: IntakeDeps | Intake, limits: ImportLimits): Router {
  const intake = Intake.of(deps);
  const router = express.Router();

  router.post('/import', async (req, res) => {
    checkImportMediaType(req);
    if (prefersAsync(req)) {
      const job = await intake.jobs.start(importBody(req), principalOf(res.locals)?.name ?? 'unknown', limits.lineLimitBytes);
      // Status, Content-Location and the job are sent at once; the response ENDS when the job does.
      // Common HTTP clients (Node's http, undici's fetch) stop sending a request body once its response
      // has ended, so ending it now would cut every upload short after its first socket buffer.
      res.status(202).set('Content-Location', `/api/v1/import/${job.id}`).type('application/json');
      res.write(JSON.stringify(jobView(job)));
      await intake.jobs.ended(job.id);
      res.end();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.syncLimitBytes) {
      fail(tooLarge(`${limits.syncLimitBytes} bytes for a synchronous import; send it as a job (Prefer: respond-async), which has no limit`));
    }
    const summary = await runImport(importBody(req), intake, {
      maxLineBytes: limits.lineLimitBytes,
      chunkLines: intake.chunkLines,
      maxBodyBytes: limits.syncLimitBytes,
      collectResults: true,
    });
    const n = summary.linesCommitted;
    const stored = n > 0 ? `lines 1..${n} are stored` : 'no line was stored';
    if (summary.end === 'too-large') {
      fail(tooLarge(`${limits.syncLimitBytes} bytes for a synchronous import (${stored}); send it as a job (Prefer: respond-async), which has no limit`));
    }
    if (summary.end === 'broken') {
      // Usually nobody reads this (the client is gone); the access log shows a 400, not a 500.
      const cause = summary.breakCause === 'undecodable' ? 'could not be decoded (Content-Encoding)' : 'broke off';
      fail(badRequest(`The request body ${cause} after line ${n}; ${stored}, the unfinished line after it was dropped`));
    }
    res.json({ lines: summary.results.length, accepted: summary.accepted, unchanged: summary.unchanged, rejected: summary.rejected, results: summary.results });
  });

  router.use(importJobsRouter(intake));
  return router;
}
