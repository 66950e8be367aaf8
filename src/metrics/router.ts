/**
 * GET /metrics: the Prometheus text exposition format, for the operator and admin roles (a scrape
 * config gives the token: `authorization: { credentials_file: ... }`). No label names a person.
 */
import express, { type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import { requireRoles } from '../console/access.js';

export function metricsRouter(registry: Registry, auth: RequestHandler): Router {
  const router = express.Router();
  router.get('/metrics', auth, requireRoles('operator'), async (_req, res) => {
    const text = await registry.metrics();
    res.set('cache-control', 'no-store').type(registry.contentType).send(text);
  });
  return router;
}
