/**
 * The delivery lists and their actions (issue #5 items 4, 5, 8):
 *
 * | Method and path | What it does |
 * |---|---|
 * | GET /sync/dead-letters?target&kind&client&reason&limit | parked records, oldest first |
 * | GET /sync/dead-letters/{kind}/{id}?target | one dead letter with the target's OperationOutcome |
 * | POST /sync/dead-letters/{kind}/{id}/replay?target | queues it again |
 * | POST /sync/dead-letters/replay {target?, kind?, client?, reason?} or {all: true} | queues every match again |
 * | POST /sync/retry {target?, kind?, id?, client?, reason?, state?} | makes waiting (held, failed) records due now; state not-writable queues those again |
 * | GET /sync/review?target&client&reason | held records the target's identity lookup refused (patient-not-found, patient-ambiguous, practitioner-not-found) |
 *
 * A replay or retry only queues: the worker sends, asking the disclosure gate again, so a consent
 * revoked meanwhile still stops it.
 */
import { notFound } from '@medplum/core';
import express, { type Request, type Router } from 'express';
import { isRecordKind, type RecordKind } from '../../domain/records.js';
import { inputInvalid, OperationOutcomeError, type Problem } from '../../outcomes.js';
import type { DeliveryFilter, Store } from '../../store/port.js';
import { checkJsonShape } from '../middleware/json-shape.js';

/** Held reasons that put a record on the review list: the target's identity lookup failed. */
export const REVIEW_CODES = ['patient-not-found', 'patient-ambiguous', 'practitioner-not-found', 'practitioner-ambiguous'] as const;

const TOKEN = /^[A-Za-z0-9._:/|-]{1,200}$/;
/** Records one step of a replay or requeue-all handles. */
const PAGE = 500;

export function deadLettersRouter(store: Store, wake: () => void): Router {
  const router = express.Router();
  const json = express.json({ limit: '64kb', type: ['application/json', 'application/*+json'] });

  router.get('/sync/dead-letters', async (req, res) => {
    const { filter, limit } = readQuery(req);
    const deadLetters = (await store.status.listDeadLetters(filter, limit)).map(({ outcome: _o, ...d }) => d);
    res.json({ count: deadLetters.length, deadLetters });
  });

  router.get('/sync/dead-letters/:kind/:id', async (req, res) => {
    const { kind, id } = recordKey(req);
    const found = await store.status.listDeadLetters({ kind, recordId: id, ...optionalTarget(req) });
    if (found.length === 0) {
      throw new OperationOutcomeError(notFound);
    }
    res.json({ deadLetters: found, sync: await store.status.getSyncStates(kind, id) });
  });

  router.post('/sync/dead-letters/:kind/:id/replay', async (req, res) => {
    const { kind, id } = recordKey(req);
    const found = await store.status.listDeadLetters({ kind, recordId: id, ...optionalTarget(req) });
    if (found.length === 0) {
      throw new OperationOutcomeError(notFound);
    }
    const replayed = await replay(store, found);
    wake();
    res.json({ replayed });
  });

  router.post('/sync/dead-letters/replay', json, checkJsonShape, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const filter = readFilter(body, '');
    if (Object.keys(filter).length === 0 && body.all !== true) {
      throw new OperationOutcomeError(inputInvalid([{ path: '', message: 'give a filter (target, kind, client, reason) or {"all": true}' }]));
    }
    // Page by page (a replay takes them off the list): the event loop keeps running whatever the count.
    let replayed = 0;
    for (;;) {
      const page = await store.status.listDeadLetters(filter, PAGE);
      const n = page.length > 0 ? await replay(store, page) : 0;
      replayed += n;
      if (page.length < PAGE || n === 0) {
        break;
      }
    }
    wake();
    res.json({ replayed });
  });

  router.post('/sync/retry', json, checkJsonShape, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const filter = readFilter(body, '');
    const state = body.state;
    if (state !== undefined && state !== 'held' && state !== 'failed' && state !== 'not-writable') {
      throw new OperationOutcomeError(inputInvalid([{ path: '/state', message: 'must be held, failed or not-writable' }]));
    }
    if (state === 'not-writable') {
      // After the target's capabilities changed: plan these records again.
      let queued = 0;
      for (;;) {
        // Page by page: queued again, they are no longer not-writable.
        const states = await store.status.listSyncStates({ ...filter, state: 'not-writable' }, PAGE);
        let n = 0;
        for (const [target, keys] of groupByTarget(states.map((s) => ({ target: s.target, kind: s.kind, id: s.recordId })))) {
          n += await store.outbox.requeue(keys, target);
        }
        queued += n;
        if (states.length < PAGE || n === 0) {
          break;
        }
      }
      wake();
      res.json({ queued });
      return;
    }
    const woken = await store.outbox.wakeWaiting({ ...filter, ...(state ? { state } : {}) });
    wake();
    res.json({ woken });
  });

  router.get('/sync/review', async (req, res) => {
    const { filter, limit } = readQuery(req);
    if (filter.reasonCode && !(REVIEW_CODES as readonly string[]).includes(filter.reasonCode)) {
      throw new OperationOutcomeError(inputInvalid([{ path: 'reason', message: `must be one of ${REVIEW_CODES.join(', ')}` }]));
    }
    const codes = filter.reasonCode ? [filter.reasonCode] : [...REVIEW_CODES];
    const held = [];
    for (const reasonCode of codes) {
      held.push(...(await store.status.listSyncStates({ ...filter, reasonCode, state: 'held' }, limit)));
    }
    held.sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
    res.json({ count: held.length, review: held.map(({ outcome: _o, ...s }) => s) });
  });

  return router;
}

async function replay(store: Store, found: { target: string; kind: RecordKind; recordId: string }[]): Promise<number> {
  let n = 0;
  for (const [target, keys] of groupByTarget(found.map((d) => ({ target: d.target, kind: d.kind, id: d.recordId })))) {
    n += await store.outbox.requeue(keys, target);
  }
  return n;
}

function groupByTarget(items: { target: string; kind: RecordKind; id: string }[]): Map<string, { kind: RecordKind; id: string }[]> {
  const out = new Map<string, { kind: RecordKind; id: string }[]>();
  for (const i of items) {
    const list = out.get(i.target) ?? [];
    list.push({ kind: i.kind, id: i.id });
    out.set(i.target, list);
  }
  return out;
}

/** The filter and the limit of a list request, every problem reported at once. */
function readQuery(req: Request): { filter: DeliveryFilter; limit: number } {
  const problems: Problem[] = [];
  const filter = readFilter(req.query as Record<string, unknown>, '', problems);
  const limit = readLimit(req, problems);
  if (problems.length > 0) {
    throw new OperationOutcomeError(inputInvalid(problems));
  }
  return { filter, limit };
}

/** target, kind, client, reason (and id) from a query or a JSON body, each checked. */
function readFilter(src: Record<string, unknown>, base: string, collect?: Problem[]): DeliveryFilter {
  const problems: Problem[] = collect ?? [];
  const filter: DeliveryFilter = {};
  const str = (name: string): string | undefined => {
    const v = src[name];
    if (v === undefined) {
      return undefined;
    }
    if (typeof v !== 'string' || !TOKEN.test(v)) {
      problems.push({ path: `${base}/${name}`, message: 'must be 1-200 characters of A-Za-z0-9._:/|-' });
      return undefined;
    }
    return v;
  };
  const target = str('target');
  const kind = str('kind');
  const client = str('client');
  const reason = str('reason');
  const id = str('id');
  if (kind !== undefined && !isRecordKind(kind)) {
    problems.push({ path: `${base}/kind`, message: 'must be participant, consent, session or note' });
  }
  if (!collect && problems.length > 0) {
    throw new OperationOutcomeError(inputInvalid(problems));
  }
  if (target) filter.target = target;
  if (kind) filter.kind = kind as RecordKind;
  if (client) filter.clientMrn = client;
  if (reason) filter.reasonCode = reason;
  if (id) filter.recordId = id;
  return filter;
}

function recordKey(req: Request): { kind: RecordKind; id: string } {
  const kind = req.params.kind as string;
  const id = req.params.id as string;
  if (!isRecordKind(kind) || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
    throw new OperationOutcomeError(notFound);
  }
  return { kind, id };
}

function optionalTarget(req: Request): { target?: string } {
  const t = req.query.target;
  if (t === undefined) {
    return {};
  }
  if (typeof t !== 'string' || !TOKEN.test(t)) {
    throw new OperationOutcomeError(inputInvalid([{ path: 'target', message: 'must be 1-200 characters of A-Za-z0-9._:/|-' }]));
  }
  return { target: t };
}

function readLimit(req: Request, problems: Problem[]): number {
  const raw = req.query.limit;
  if (raw === undefined) {
    return 1000;
  }
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 1 || n > 100_000) {
    problems.push({ path: 'limit', message: 'must be a whole number from 1 to 100000' });
    return 1000;
  }
  return n;
}
