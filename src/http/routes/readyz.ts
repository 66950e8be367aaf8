/**
 * GET /readyz (no token; says nothing about data): 200 when this instance can take requests, else 503,
 * with each check and, when one fails, why.
 *
 * - store: the database answers a query;
 * - migrations: every named migration of this code is applied;
 * - intake: open (closed while stopping after SIGTERM: 503, so a load balancer stops sending);
 * - target: the FHIR target's CapabilityStatement was read, or why not. Reported, but it does not make
 *   the instance unready: records are accepted and wait in the outbox while the target is away, so a
 *   target outage must not take the intake out of a load balancer.
 */
import express, { type Router } from 'express';
import type { CapabilityProbe } from '../../metrics/capability-probe.js';
import type { Store } from '../../store/port.js';
import type { IntakeGate } from '../middleware/intake-gate.js';

export function readyzRouter(store: Pick<Store, 'status'>, gate: IntakeGate, probe: CapabilityProbe): Router {
  const router = express.Router();
  router.get('/readyz', async (_req, res) => {
    const [db, target] = await Promise.all([store.status.probe(), probe.check()]);
    const checks = {
      store: db.reachable ? { ok: true } : { ok: false, reason: 'the database did not answer' },
      migrations:
        db.migrationsPending.length === 0 ? { ok: true } : { ok: false, reason: `not applied: ${db.migrationsPending.join(', ')}`, pending: db.migrationsPending },
      intake: gate.open ? { ok: true } : { ok: false, reason: 'the service is stopping' },
      target,
    };
    const ready = checks.store.ok && checks.migrations.ok && checks.intake.ok;
    res
      .status(ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({ status: ready ? (target.ok ? 'ready' : 'ready-target-unavailable') : gate.open ? 'not-ready' : 'stopping', checks });
  });
  return router;
}
