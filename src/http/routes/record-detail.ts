/**
 * GET /api/v1/records/{kind}/{id}: everything about one record for the console (console/record-detail.ts):
 * the source record, its state on each target, the consent decision with its reasons, the FHIR
 * resources as mapped now (with profile issues) and as last sent (read back from the target, with a
 * diff to the version before), and every write attempt. Stores and sends nothing.
 * Roles: operator (masked), source, privacy-officer, admin.
 */
import { notFound } from '@medplum/core';
import express, { type Router } from 'express';
import { identifiedFor, requireRoles } from '../../console/access.js';
import { detailView } from '../../console/mask-views.js';
import { buildRecordDetail, type RecordDetailDeps } from '../../console/record-detail.js';
import { recordKeyOf } from '../../console/query-params.js';
import { OperationOutcomeError } from '../../outcomes.js';

export function recordDetailRouter(deps: RecordDetailDeps): Router {
  const router = express.Router();
  router.get('/records/:kind/:id', requireRoles('operator', 'source', 'privacy-officer'), async (req, res) => {
    const { kind, id } = recordKeyOf(req.params);
    const rec = await deps.store.records.getRecord(kind, id);
    if (!rec) {
      throw new OperationOutcomeError(notFound);
    }
    res.json(detailView(await buildRecordDetail(deps, rec), identifiedFor(res)));
  });
  return router;
}
