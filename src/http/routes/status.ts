/**
 * GET /api/v1/sync/status: how many records are in each sync state on each target, the outbox size,
 * and per target what is still queued, the age of the oldest entry waiting, the dead letters and the
 * held records by reason (the review list's causes).
 */
import express, { type Router } from 'express';
import type { Store } from '../../store/port.js';

export function statusRouter(store: Pick<Store, 'status'>): Router {
  const router = express.Router();
  router.get('/sync/status', async (_req, res) => {
    const now = new Date();
    const status = await store.status.targetStatus(now);
    const targets: Record<string, Record<string, number>> = {};
    const delivery: Record<string, object> = {};
    let deadLetters = 0;
    for (const t of status) {
      targets[t.target] = { ...t.states } as Record<string, number>;
      deadLetters += t.deadLetters;
      if (t.target === 'local') {
        continue; // records kept local by policy: no queue
      }
      delivery[t.target] = {
        queued: t.queued,
        deadLetters: t.deadLetters,
        ...(t.oldestPendingAt
          ? { oldestPendingAt: t.oldestPendingAt, oldestPendingAgeSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(t.oldestPendingAt)) / 1000)) }
          : {}),
        heldBy: t.heldBy,
      };
    }
    res.json({ targets, outbox: await store.status.outboxSize(), deadLetters, delivery });
  });
  return router;
}
