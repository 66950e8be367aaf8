/**
 * GET /api/v1/clients/{mrn}/disclosures: the accounting of disclosures of one client, oldest first.
 * JSON by default; a FHIR searchset Bundle of the AuditEvents when the caller asks for FHIR
 * (`Accept: application/fhir+json` or `?_format=fhir`).
 */
import express, { type Request, type Router } from 'express';
import { toAuditBundle, toDisclosureItem } from '../../consent/disclosures.js';
import { inputInvalid, OperationOutcomeError } from '../../outcomes.js';
import type { Store } from '../../store/port.js';

/** The contract's MRN characters (schemas/inbound/common.schema.json). */
const MRN = /^[A-Za-z0-9._:/-]{1,64}$/;
const FHIR_FORMATS = new Set(['fhir', 'json+fhir', 'application/fhir+json', 'application/json+fhir']);

function wantsFhir(req: Request): boolean {
  const format = req.query._format;
  if (typeof format === 'string') {
    return FHIR_FORMATS.has(format);
  }
  return /application\/(fhir\+json|json\+fhir)/.test(req.get('accept') ?? '');
}

export function disclosuresRouter(store: Pick<Store, 'audit'>, ns: string): Router {
  const router = express.Router();
  router.get('/clients/:mrn/disclosures', async (req, res) => {
    const mrn = req.params.mrn as string;
    if (!MRN.test(mrn)) {
      throw new OperationOutcomeError(inputInvalid([{ path: '/mrn', message: 'must be 1-64 characters of A-Za-z0-9._:/-' }]));
    }
    const entries = await store.audit.listAudit({ clientMrn: mrn, category: 'disclosure' });
    if (wantsFhir(req)) {
      const self = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
      res.type('application/fhir+json').json(toAuditBundle(entries, self));
      return;
    }
    res.json({ client: { mrn }, count: entries.length, disclosures: entries.map((e) => toDisclosureItem(e, ns)) });
  });
  return router;
}
