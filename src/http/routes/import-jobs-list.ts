/**
 * GET /api/v1/import: the latest import jobs, newest first (`limit` 1-200, default 20), each as
 * GET /api/v1/import/{jobId} shows it: state and committed counts, never a line's content. The
 * console's imports page lists them with their progress. Roles: source, operator (and admin).
 */
import express, { type Router } from 'express';
import { requireRoles } from '../../console/access.js';
import { queryOf } from '../../console/query-params.js';
import type { Store } from '../../store/port.js';
import { jobView } from './import-jobs.js';

export function importJobsListRouter(store: Pick<Store, 'importJobs'>): Router {
  const router = express.Router();
  router.get('/import', requireRoles('source', 'operator'), async (req, res) => {
    const q = queryOf(req);
    const limit = q.int('limit', 20, 1, 200);
    q.done();
    res.json({ jobs: (await store.importJobs.listRecentJobs(limit)).map(jobView) });
  });
  return router;
}
