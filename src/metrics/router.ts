/**
 * GET /metrics: the Prometheus text exposition format, for the operator and admin roles (a scrape
 * config gives the token: `authorization: { credentials_file: ... }`). No label names a person.
 */
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import { requireRoles } from '../console/access.js';

/** The route guard (issue #10's route table) has authenticated the caller; the role is checked again here. */
export function metricsRouter(registry: Registry): Router {
  const router = express.Router();
  router.get('/metrics', requireRoles('operator'), async (_req, res) => {
    const text = await registry.metrics();
    res.set('cache-control', 'no-store').type(registry.contentType).send(text);
  });
  return router;
}
