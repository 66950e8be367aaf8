/**
 * GET /api/v1/records: the records listing of the console, one row per record and target, newest
 * state change first, a page at a time.
 *
 * Filters: `kind`, `id` (one record, with kind), `state`, `reason` (code), `target`, `since`, `until` (when the state last changed),
 * `limit` (1-500, default 50), `cursor` (the `next` of the previous page). The client filter is the
 * `X-Client-MRN` header: an MRN is PHI and never goes in a URL (access logs, browser history, proxies).
 * Roles: operator (masked), source, privacy-officer, admin. Every filter is served by an index
 * (store/sqlite/record-queries.ts).
 */
import express, { type Router } from 'express';
import { identifiedFor, requireRoles } from '../../console/access.js';
import { clientPseudonym, scrub } from '../../console/phi-mask.js';
import { clientHeader, queryOf } from '../../console/query-params.js';
import type { RecordStateFilter, RecordStateRow, Store } from '../../store/port.js';

/** A listing row as the API answers it: `client` is the MRN, or its pseudonym when masked. */
export function listingRow(row: RecordStateRow, identified: boolean): Record<string, unknown> {
  const { clientMrn, recordId, ...rest } = row;
  const out = { ...rest, id: recordId, client: identified ? clientMrn : clientPseudonym(clientMrn) };
  return identified || !clientMrn ? out : scrub(out, [clientMrn]);
}

export function recordsQueryRouter(store: Pick<Store, 'status'>): Router {
  const router = express.Router();
  router.get('/records', requireRoles('operator', 'source', 'privacy-officer'), async (req, res) => {
    const q = queryOf(req);
    const filter: RecordStateFilter = {
      kind: q.kind(),
      recordId: q.string('id', 64),
      state: q.state(),
      reasonCode: q.token('reason'),
      target: q.token('target'),
      since: q.instant('since'),
      until: q.instant('until'),
      clientMrn: clientHeader(req, q),
    };
    const limit = q.int('limit', 50, 1, 500);
    const cursor = q.token('cursor');
    if (filter.recordId !== undefined && (!filter.kind || !/^[A-Za-z0-9._-]{1,64}$/.test(filter.recordId))) {
      q.problems.push({ path: 'id', message: 'needs kind, and must be 1-64 characters of A-Za-z0-9._-' });
    }
    q.done();
    const defined = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as RecordStateFilter;
    const page = await store.status.listRecordStates(defined, limit, cursor);
    const identified = identifiedFor(res);
    res.json({
      count: page.rows.length,
      masked: !identified,
      records: page.rows.map((r) => listingRow(r, identified)),
      ...(page.next ? { next: page.next } : {}),
    });
  });
  return router;
}
