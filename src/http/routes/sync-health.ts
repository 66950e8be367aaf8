/**
 * The console overview's figures that /sync/status does not give:
 *
 * | GET /api/v1/sync/targets | each target: where, how the sync authenticates and the token's state (never the token), whether its CapabilityStatement could be read, and its health as the sync's requests see it (last answer, failures in a row, 429 pauses in the last hour) |
 * | GET /api/v1/sync/throughput?minutes=60&bucket=300 | records written and write attempts failed per time bucket, from the local audit |
 *
 * Roles: operator, admin. No PHI: names of targets, counts and times.
 */
import express, { type Router } from 'express';
import { requireRoles } from '../../console/access.js';
import { queryOf } from '../../console/query-params.js';
import type { TokenState } from '../../fhir/auth/index.js';
import type { CapabilityProbe } from '../../metrics/capability-probe.js';
import type { TargetHealth } from '../../metrics/index.js';
import type { Store } from '../../store/port.js';

export interface TargetInfo {
  name: string;
  /** The base URL (for the embedded server, known once the service listens). */
  url: () => string;
  embedded: boolean;
  /** FHIR_AUTH_TYPE, or `internal` for the embedded server. */
  auth: string;
  /** The OAuth2 token's state, when the target uses one. */
  token?: () => TokenState | undefined;
  health: TargetHealth;
  capabilities: CapabilityProbe;
}

export function syncHealthRouter(store: Pick<Store, 'status'>, targets: TargetInfo[]): Router {
  const router = express.Router();
  const operator = requireRoles('operator');

  router.get('/sync/targets', operator, async (_req, res) => {
    const out = await Promise.all(
      targets.map(async (t) => ({
        name: t.name,
        url: t.url(),
        embedded: t.embedded,
        auth: t.auth,
        ...(t.token?.() ? { token: t.token() } : {}),
        capabilities: await t.capabilities.check(),
        health: t.health.snapshot(),
      }))
    );
    res.json({ targets: out });
  });

  router.get('/sync/throughput', operator, async (req, res) => {
    const q = queryOf(req);
    const minutes = q.int('minutes', 60, 5, 24 * 60);
    const bucketSeconds = q.int('bucket', 300, 60, 3600);
    q.done();
    const now = new Date();
    const buckets = await store.status.syncThroughput(new Date(now.getTime() - minutes * 60_000), bucketSeconds * 1000, now);
    res.json({
      minutes,
      bucketSeconds,
      synced: buckets.reduce((a, b) => a + b.synced, 0),
      failed: buckets.reduce((a, b) => a + b.failed, 0),
      buckets,
    });
  });

  return router;
}
