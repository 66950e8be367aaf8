/**
 * Records every call the route table marks `audit` (a read or change of PHI) in the access audit, when
 * it ends: who (the credential's name), what (record keys or FHIR references; never content), when,
 * the outcome (the HTTP status, so refusals are audited too), and the clients concerned (by MRN, in an
 * indexed column; never logged). The sync's internal credential is not audited here: its writes are
 * the accounting of disclosures (audit/events.ts).
 *
 * What a call touched comes from its route parameters, from the FHIR answer (res.locals.fhirAnswer,
 * set by fhir-server/http.ts), from the import's per-line results, and from `res.locals.auditDetail`,
 * which any route may set: `{ items?: AccessedItem[]; clients?: string[]; itemCount?: number }`.
 */
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import type { AccessAuditLog } from '../../audit/access-audit-log.js';
import { buildAccessEvent, MAX_ENTITIES, type AccessedItem } from '../../audit/access-event.js';
import { principalOf } from '../../auth/principal.js';
import type { Logger } from '../../logger.js';
import type { ResolvedRoute } from './route-guard.js';

export interface AccessAuditOptions {
  log: AccessAuditLog;
  /** Our identifier namespace (credential and source-record identifiers). */
  ns: string;
  /** The system of client MRNs on Patient resources. */
  mrnSystem: string;
}

/** What a route may leave on res.locals.auditDetail. */
export interface AuditDetail {
  items?: AccessedItem[];
  clients?: string[];
  itemCount?: number;
}

interface Subjects {
  items: AccessedItem[];
  clients: string[];
  itemCount?: number;
  queryParams?: string[];
}

const KIND: Record<string, string> = { participants: 'participant', consents: 'consent', sessions: 'session', notes: 'note' };
const MRN = /^[A-Za-z0-9._:/-]{1,64}$/;

export function accessAudit(o: AccessAuditOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const route = res.locals.route as ResolvedRoute | undefined;
    const spec = route?.rule?.audit;
    if (!route?.rule || !spec) {
      next();
      return;
    }
    if (spec.subject === 'import') {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        res.locals.auditBody = body;
        return json(body);
      };
    }
    let done = false;
    const finish = (): void => {
      if (done) {
        return;
      }
      done = true;
      const principal = principalOf(res.locals);
      if (!principal || principal.via === 'internal') {
        return;
      }
      try {
        const s = subjects(spec.subject, spec.interaction === 'search', req, res, o.mrnSystem);
        o.log.record(
          buildAccessEvent({
            ns: o.ns,
            mrnSystem: o.mrnSystem,
            who: principal.name,
            address: req.ip,
            interaction: spec.interaction,
            bundleType: spec.interaction === 'batch' ? (req.body as Partial<Bundle> | undefined)?.type : undefined,
            route: route.rule!.label,
            // A client that went away before the answer: 499, as proxies log it.
            status: res.writableFinished ? res.statusCode : 499,
            clientMrns: s.clients,
            items: s.items,
            itemCount: s.itemCount,
            queryParams: s.queryParams,
            requestId: res.locals.requestId as string | undefined,
          })
        );
      } catch (err) {
        (res.locals.logger as Logger | undefined)?.error('access audit entry could not be built', { error: err instanceof Error ? err.name : typeof err });
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}

function subjects(subject: string, isSearch: boolean, req: Request, res: Response, mrnSystem: string): Subjects {
  const detail = (res.locals.auditDetail ?? {}) as AuditDetail;
  const params = (res.locals.route as ResolvedRoute).params;
  const base: Subjects = { items: [...(detail.items ?? [])], clients: (detail.clients ?? []).filter((c) => typeof c === 'string'), itemCount: detail.itemCount };
  switch (subject) {
    case 'record':
      base.items.push({ record: `${KIND[params.collection] ?? params.collection}/${params.id}` });
      return base;
    case 'import': {
      const results = (res.locals.auditBody as { results?: { kind?: string; id?: string }[] } | undefined)?.results ?? [];
      const keys = results.filter((r) => r.kind && r.id).map((r) => ({ record: `${r.kind}/${r.id}` }));
      return { ...base, items: [...base.items, ...keys.slice(0, MAX_ENTITIES)], itemCount: base.items.length + keys.length };
    }
    case 'client':
      return { ...base, clients: [...base.clients, params.mrn].filter((m) => MRN.test(m)) };
    case 'access-audit': {
      const client = req.query.client;
      return { ...base, clients: typeof client === 'string' && MRN.test(client) ? [client] : [], queryParams: Object.keys(req.query) };
    }
    case 'fhir':
      return { ...fhirSubjects(res.locals.fhirAnswer as Resource | undefined, params, mrnSystem, base), ...(isSearch ? { queryParams: searchParamNames(req) } : {}) };
    default:
      return base;
  }
}

/** The names (never the values) of a search's parameters, from the query and a POST _search form. */
function searchParamNames(req: Request): string[] {
  const form = req.method === 'POST' && req.body && typeof req.body === 'object' ? Object.keys(req.body as object) : [];
  return [...new Set([...Object.keys(req.query), ...form])];
}

/** References and Patient MRNs in a FHIR answer: a resource, a searchset or history, or a batch/transaction response. */
function fhirSubjects(answer: Resource | undefined, params: Record<string, string>, mrnSystem: string, base: Subjects): Subjects {
  const refs = new Set<string>(base.items.flatMap((i) => ('reference' in i ? [i.reference] : [])));
  const clients = new Set(base.clients);
  const add = (r: Resource | undefined): void => {
    if (!r || r.resourceType === 'OperationOutcome' || r.resourceType === 'Bundle' || !r.id) {
      return;
    }
    refs.add(`${r.resourceType}/${r.id}${r.meta?.versionId ? `/_history/${r.meta.versionId}` : ''}`);
    if (r.resourceType === 'Patient') {
      for (const id of (r as Patient).identifier ?? []) {
        if (id.system === mrnSystem && typeof id.value === 'string') {
          clients.add(id.value);
        }
      }
    }
  };
  let count = 0;
  if (answer?.resourceType === 'Bundle') {
    for (const e of (answer as Bundle).entry ?? []) {
      count++;
      if (e.resource) {
        add(e.resource);
      } else if (e.response?.location) {
        const m = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?)$/.exec(e.response.location);
        if (m) {
          refs.add(m[1]);
        }
      }
    }
  } else {
    add(answer);
  }
  if (refs.size === 0 && params.type && params.id) {
    refs.add(`${params.type}/${params.id}`);
  }
  const items = [...refs].map((reference) => ({ reference }));
  return { items, clients: [...clients], itemCount: Math.max(count, items.length) };
}
