/**
 * PUT and GET of single records: /api/v1/{participants|consents|sessions|notes}/{id}. A PUT is an upsert
 * by the source id; the path id must equal the body id.
 */
import { notFound } from '@medplum/core';
import express, { type Router } from 'express';
import type { RecordKind } from '../../domain/records.js';
import { validateRecord } from '../../inbound/validate.js';
import { Intake, type IntakeDeps } from '../../intake/accept.js';
import { inputInvalid, OperationOutcomeError, type Problem } from '../../outcomes.js';
import type { Store } from '../../store/port.js';
import { checkJsonShape } from '../middleware/json-shape.js';
import { recordView, writeView } from '../record-view.js';

export const KIND_BY_COLLECTION: Record<string, RecordKind> = {
  participants: 'participant',
  consents: 'consent',
  sessions: 'session',
  notes: 'note',
};

const ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * @param deps - the service's intake (or its dependencies, for tests that build the app alone).
 * @param store - reads of records and their sync state (the intake writes through deps).
 */
export function recordsRouter(deps: IntakeDeps | Intake, store: Pick<Store, 'records' | 'status' | 'ledger'>, bodyLimitBytes: number): Router {
  const intake = Intake.of(deps);
  const router = express.Router();
  const json = express.json({ limit: bodyLimitBytes, type: ['application/json', 'application/*+json'] });

  router.put('/:collection/:id', json, checkJsonShape, async (req, res) => {
    const kind = KIND_BY_COLLECTION[req.params.collection as string];
    if (!kind) {
      throw new OperationOutcomeError(notFound);
    }
    const record = validatePut(kind, req.params.id as string, req.body);
    // Answered after the group commit that holds it (shared with concurrent requests) is durable.
    const [result] = await intake.accept([{ kind, record }]);
    // For the access audit: whose data this is (the intake knows a note's client through its session).
    res.locals.auditDetail = { clients: result.record.clientMrn ? [result.record.clientMrn] : [] };
    res.status(result.created ? 201 : 200).json(await writeView(store, result));
  });

  router.get('/:collection/:id', async (req, res) => {
    const kind = KIND_BY_COLLECTION[req.params.collection as string];
    const rec = kind ? await store.records.getRecord(kind, req.params.id as string) : undefined;
    if (!rec) {
      throw new OperationOutcomeError(notFound);
    }
    res.locals.auditDetail = { clients: rec.clientMrn ? [rec.clientMrn] : [] };
    res.json(await recordView(store, rec));
  });

  return router;
}

/** Validates a PUT body, adding the path/body id agreement to the schema problems so all come at once. */
function validatePut(kind: RecordKind, pathId: string, body: unknown): ReturnType<typeof validateRecord> {
  const problems: Problem[] = [];
  if (!ID.test(pathId)) {
    problems.push({ path: '/id', message: 'the id in the URL must be 1-64 characters of A-Za-z0-9._-' });
  }
  const bodyId = (body as { id?: unknown } | undefined)?.id;
  if (bodyId !== undefined && bodyId !== pathId) {
    // Not quoted: error texts never repeat request values (issue #10).
    problems.push({ path: '/id', message: 'must equal the id in the URL' });
  }
  try {
    const record = validateRecord(kind, body);
    if (problems.length > 0) {
      throw new OperationOutcomeError(inputInvalid(problems));
    }
    return record;
  } catch (err) {
    if (err instanceof OperationOutcomeError && problems.length > 0 && err.outcome.id === 'input-invalid') {
      const ours = inputInvalid(problems);
      throw new OperationOutcomeError({ ...ours, issue: [...(ours.issue ?? []), ...(err.outcome.issue ?? [])] }, err);
    }
    throw err;
  }
}
