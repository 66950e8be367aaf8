/**
 * GET /api/v1/audit/access?since=&until=&user=&client=&_count=&cursor= : the access audit for the
 * privacy officer (who read or changed which PHI, when, with what outcome), oldest first, one page at a
 * time: `_count` entries (default 100, at most 1000) and a `next` link while more follow. JSON by
 * default; a FHIR searchset Bundle of the AuditEvents with `Accept: application/fhir+json` or
 * `?_format=fhir`. `since` is inclusive, `until` exclusive; dates are taken as UTC midnight.
 */
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import express, { type Request, type Router } from 'express';
import { inputInvalid, OperationOutcomeError, type Problem } from '../../outcomes.js';
import type { AccessAuditEntry, AccessAuditQuery, Store } from '../../store/port.js';

const MRN = /^[A-Za-z0-9._:/-]{1,64}$/;
const USER = /^[A-Za-z0-9._@:|-]{1,200}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const FHIR_FORMATS = new Set(['fhir', 'json+fhir', 'application/fhir+json', 'application/json+fhir']);
const KNOWN = new Set(['since', 'until', 'user', 'client', '_count', 'cursor', '_format']);

function wantsFhir(req: Request): boolean {
  const format = req.query._format;
  return typeof format === 'string' ? FHIR_FORMATS.has(format) : /application\/(fhir\+json|json\+fhir)/.test(req.get('accept') ?? '');
}

/** The query, every problem at once (the messages never repeat the values). */
function readQuery(req: Request): AccessAuditQuery {
  const problems: Problem[] = [];
  const q = req.query as Record<string, unknown>;
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) {
      return undefined;
    }
    if (typeof v !== 'string') {
      problems.push({ path: name, message: 'must be given once' });
      return undefined;
    }
    return v;
  };
  const instant = (name: string): Date | undefined => {
    const v = one(name);
    if (v === undefined) {
      return undefined;
    }
    const d = INSTANT.test(v) ? new Date(v.length === 10 ? `${v}T00:00:00Z` : v) : undefined;
    if (!d || Number.isNaN(d.getTime())) {
      problems.push({ path: name, message: 'must be a date (2026-02-01) or a date and time with a zone (2026-02-01T09:00:00Z)' });
      return undefined;
    }
    return d;
  };
  for (const k of Object.keys(q)) {
    if (!KNOWN.has(k)) {
      problems.push({ path: k, message: `is not a parameter here (allowed: ${[...KNOWN].join(', ')})` });
    }
  }
  const since = instant('since');
  const until = instant('until');
  const who = one('user');
  if (who !== undefined && !USER.test(who)) {
    problems.push({ path: 'user', message: 'must be a credential name (1-200 of A-Za-z0-9._@:|-)' });
  }
  const clientMrn = one('client');
  if (clientMrn !== undefined && !MRN.test(clientMrn)) {
    problems.push({ path: 'client', message: 'must be an MRN of 1-64 characters, each a letter, digit, ".", "_", ":", "/" or "-"' });
  }
  const countRaw = one('_count');
  const limit = countRaw === undefined ? 100 : Number(countRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    problems.push({ path: '_count', message: 'must be a whole number from 1 to 1000' });
  }
  const cursor = one('cursor');
  if (cursor !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) {
    problems.push({ path: 'cursor', message: 'must be the cursor of a next link, unchanged' });
  }
  if (since && until && since >= until) {
    problems.push({ path: 'until', message: 'must be after since' });
  }
  if (problems.length > 0) {
    throw new OperationOutcomeError(inputInvalid(problems));
  }
  return { since, until, ...(who ? { who } : {}), ...(clientMrn ? { clientMrn } : {}), cursor, limit };
}

function item(e: AccessAuditEntry): object {
  const entities = e.event.entity ?? [];
  const what = entities
    .filter((x) => x.role?.code !== '1' && x.type?.code !== 'XrequestId' && x.what)
    .map((x) => x.what?.reference ?? x.what?.identifier?.value)
    .filter(Boolean);
  const requestId = entities.find((x) => x.type?.code === 'XrequestId')?.what?.identifier?.value;
  return { id: e.id, recorded: e.recorded, who: e.who, action: e.action, route: e.route, status: e.status, clients: e.clientMrns, what, requestId };
}

export function accessAuditRouter(store: Pick<Store, 'accessAudit'>): Router {
  const router = express.Router();
  router.get('/audit/access', async (req, res) => {
    const query = readQuery(req);
    const page = await store.accessAudit.listAccess(query);
    const self = new URL(`${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`);
    let next: string | undefined;
    if (page.nextCursor) {
      const u = new URL(self);
      u.searchParams.set('cursor', page.nextCursor);
      next = u.toString();
    }
    if (wantsFhir(req)) {
      const bundle: Bundle<AuditEvent> = {
        resourceType: 'Bundle',
        type: 'searchset',
        link: [{ relation: 'self', url: self.toString() }, ...(next ? [{ relation: 'next', url: next }] : [])],
        entry: page.entries.map((e) => ({ fullUrl: `urn:uuid:${e.id}`, resource: e.event, search: { mode: 'match' } })),
      };
      res.type('application/fhir+json').json(bundle);
      return;
    }
    res.json({ count: page.entries.length, entries: page.entries.map(item), ...(next ? { next } : {}) });
  });
  return router;
}
