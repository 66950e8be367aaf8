/**
 * The import job routes (the job is started by POST /api/v1/import with `Prefer: respond-async`):
 * - GET /api/v1/import/{jobId}: its state and counts, as committed: `{state: running|completed|failed|
 *   cancelled, linesRead, accepted, unchanged, rejected, startedAt, updatedAt}` (+ message, finishedAt);
 * - GET /api/v1/import/{jobId}/results: the per-line results committed so far, streamed as NDJSON;
 * - DELETE /api/v1/import/{jobId}: cancels a running job (what it committed stays; 409 when it has ended).
 * Roles are the route table's (src/auth/route-table.ts); results and cancel are further limited here to
 * the credential that started the job, or an admin.
 */
import { once } from 'node:events';
import { conflict, notFound } from '@medplum/core';
import express, { type Response, type Router } from 'express';
import { principalOf } from '../../auth/principal.js';
import type { Intake } from '../../intake/accept.js';
import { accessDenied, OperationOutcomeError } from '../../outcomes.js';
import type { ImportJob } from '../../store/port.js';

const RESULTS_PAGE = 1000;

/** What the API says about a job. */
export function jobView(job: ImportJob): object {
  return {
    id: job.id,
    state: job.state,
    linesRead: job.linesRead,
    accepted: job.accepted,
    unchanged: job.unchanged,
    rejected: job.rejected,
    startedAt: job.startedAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.message ? { message: job.message } : {}),
    results: `/api/v1/import/${job.id}/results`,
  };
}

export function importJobsRouter(intake: Intake): Router {
  const router = express.Router();
  const jobs = intake.deps.store.importJobs;

  const find = async (id: string): Promise<ImportJob> => {
    const job = await jobs.getJob(id);
    if (!job) {
      throw new OperationOutcomeError(notFound);
    }
    return job;
  };

  /** Another source's job: its results (record ids) and its cancel are not this caller's. */
  const mustOwn = (job: ImportJob, res: Response): void => {
    const p = principalOf(res.locals);
    if (!p || (p.name !== job.createdBy && !p.roles.includes('admin'))) {
      throw new OperationOutcomeError(accessDenied('Only the credential that started this import job, or an admin, may read its results or cancel it'));
    }
  };

  router.get('/import/:jobId', async (req, res) => {
    res.json(jobView(await find(req.params.jobId)));
  });

  router.get('/import/:jobId/results', async (req, res) => {
    const job = await find(req.params.jobId);
    mustOwn(job, res);
    res.status(200).type('application/x-ndjson');
    let after = 0;
    for (;;) {
      const page = await jobs.listJobResults(job.id, after, RESULTS_PAGE);
      if (page.length === 0 || res.destroyed) {
        break;
      }
      await write(res, page.map((r) => `${JSON.stringify(r)}\n`).join(''));
      after = page[page.length - 1].line;
    }
    res.end();
  });

  router.delete('/import/:jobId', async (req, res) => {
    const job = await find(req.params.jobId);
    mustOwn(job, res);
    const cancelled = await intake.jobs.cancel(job.id);
    if (!cancelled) {
      throw new OperationOutcomeError(conflict(`The import job has already ended (${job.state}); there is nothing to cancel`));
    }
    res.json(jobView(cancelled));
  });

  return router;
}

/** Writes with backpressure: a slow reader of a 1M-line result does not make us buffer it all. */
async function write(res: Response, text: string): Promise<void> {
  if (!res.write(text) && !res.destroyed) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
}
