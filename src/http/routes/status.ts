/**
 * GET /api/v1/sync/status: how many records are in each sync state on each target, and the outbox size.
 */
import express, { type Router } from 'express';
import type { Store } from '../../store/port.js';

export function statusRouter(store: Store): Router {
  const router = express.Router();
  router.get('/sync/status', async (_req, res) => {
    const counts = await store.countSyncStates();
    const targets: Record<string, Record<string, number>> = {};
    for (const c of counts) {
      targets[c.target] ??= {};
      targets[c.target][c.state] = c.count;
    }
    res.json({ targets, outbox: await store.outboxSize() });
  });
  return router;
}
