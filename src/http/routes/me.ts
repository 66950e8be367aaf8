/**
 * GET /api/v1/me: who the credential is (its name and roles) and whether it sees identified data,
 * so the console shows each person the pages their roles allow. Any valid credential.
 */
import express, { type Router } from 'express';
import { principalOf } from '../../auth/principal.js';
import { identifiedFor } from '../../console/access.js';

export function meRouter(): Router {
  const router = express.Router();
  router.get('/me', (_req, res) => {
    const p = principalOf(res.locals);
    res.json({ name: p?.name ?? '', roles: p?.roles ?? [], identified: identifiedFor(res) });
  });
  return router;
}
