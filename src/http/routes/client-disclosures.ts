/**
 * GET /api/v1/disclosures with the client's MRN in the `X-Client-MRN` header: the accounting of
 * disclosures of GET /clients/{mrn}/disclosures (same items, consent/disclosures.ts) for callers that
 * must not put an MRN in a URL (the console). Roles: privacy-officer, admin.
 */
import express, { type Router } from 'express';
import { requireRoles } from '../../console/access.js';
import { clientHeader, queryOf } from '../../console/query-params.js';
import { toDisclosureItem } from '../../consent/disclosures.js';
import type { Store } from '../../store/port.js';

export function clientDisclosuresRouter(store: Pick<Store, 'audit'>, ns: string): Router {
  const router = express.Router();
  router.get('/disclosures', requireRoles('privacy-officer'), async (req, res) => {
    const q = queryOf(req);
    const mrn = clientHeader(req, q, true) as string;
    q.done();
    // The access audit (issue #10) names the client whose accounting was read.
    res.locals.auditDetail = { clients: [mrn] };
    const entries = await store.audit.listAudit({ clientMrn: mrn, category: 'disclosure' });
    res.json({ client: { mrn }, count: entries.length, disclosures: entries.map((e) => toDisclosureItem(e, ns)) });
  });
  return router;
}
