/**
 * Counts records received from what the record and import routes answer (PUT /{collection}/{id}
 * answers `status: accepted|unchanged` or a 4xx; a synchronous POST /import lists each line's
 * result), so the intake needs no call of its own. Import jobs (issue #8) answer 202 and report
 * through IntakeMetrics.observeRecords from their runner instead.
 */
import type { NextFunction, Request, Response } from 'express';
import type { IntakeMetrics, IntakeResult } from './intake-metrics.js';

const KIND_BY_COLLECTION: Record<string, string> = { participants: 'participant', consents: 'consent', sessions: 'session', notes: 'note' };
const RESULTS = new Set(['accepted', 'unchanged', 'rejected']);
/** Refusals of the record itself; 401/403/404/503 are about the request, not the record. */
const REJECTED = new Set([400, 413, 415, 422]);

/** Mount on the /api/v1 router, before the record and import routes. */
export function intakeObserver(metrics: IntakeMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const put = req.method === 'PUT' ? /^\/(participants|consents|sessions|notes)\/[^/]+$/.exec(req.path) : null;
    const imported = req.method === 'POST' && req.path === '/import';
    if (put || imported) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        try {
          observe(metrics, put ? KIND_BY_COLLECTION[put[1]] : undefined, res.statusCode, body);
        } catch {
          // counting must never break an answer
        }
        return json(body);
      };
    }
    next();
  };
}

function observe(metrics: IntakeMetrics, putKind: string | undefined, status: number, body: unknown): void {
  const b = body as { status?: unknown; results?: { kind?: string; status?: string }[] } | undefined;
  if (putKind !== undefined) {
    if (status < 300 && typeof b?.status === 'string' && RESULTS.has(b.status)) {
      metrics.observeRecords(putKind, b.status as IntakeResult);
    } else if (REJECTED.has(status)) {
      metrics.observeRecords(putKind, 'rejected');
    }
    return;
  }
  if (status < 300 && Array.isArray(b?.results)) {
    for (const r of b.results) {
      if (typeof r?.status === 'string' && RESULTS.has(r.status)) {
        metrics.observeRecords(r.kind, r.status as IntakeResult);
      }
    }
  }
}
