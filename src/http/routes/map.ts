/**
 * POST /api/v1/$map: a dry run for integration engineers. Maps and validates one record
 * (`?kind=`, a JSON body) or an NDJSON body of `{"kind","record"}` lines, exactly as the sync would,
 * and answers with the FHIR resources and every issue. It stores nothing and syncs nothing; records
 * the input refers to (a session's participants, a note's session) come from the body first, then
 * from the store (read only).
 */
import express, { type Router } from 'express';
import { isRecordKind, type RecordKind } from '../../domain/records.js';
import type { MappingConfig, MappingSet } from '../../mapping/index.js';
import { fail, inputInvalid, OperationOutcomeError } from '../../outcomes.js';
import type { ProfilePack } from '../../profiles/pack.js';
import { dryRun, type DryRunResult } from '../../profiles/workbench/dry-run.js';
import type { Store } from '../../store/port.js';
import { parseRecords } from '../../profiles/workbench/record-input.js';

export interface MapRouteDeps {
  store: Store;
  mappings: MappingSet;
  pack: ProfilePack;
  config: MappingConfig;
  limitBytes: number;
}

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

export function mapRouter(deps: MapRouteDeps): Router {
  const router = express.Router();
  const text = express.text({ limit: deps.limitBytes, type: [...NDJSON_TYPES, 'application/json', 'application/fhir+json', 'text/plain'] });

  router.post('/$map', text, async (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const ndjson = NDJSON_TYPES.some((t) => req.is(t));
    const kind = req.query.kind;
    if (!ndjson && !isRecordKind(kind)) {
      fail(inputInvalid([{ path: '', message: 'a single JSON record needs ?kind=participant|consent|session|note (or send NDJSON as application/x-ndjson)' }]));
    }
    const parsed = parseRecords(body, ndjson ? undefined : (kind as RecordKind));
    const results = await dryRun(parsed.records, {
      mappings: deps.mappings,
      pack: deps.pack,
      config: deps.config,
      lookup: async (k, id) => (await deps.store.records.getRecord(k, id))?.body,
    });
    if (!ndjson) {
      const [result] = [...parsed.rejected, ...results];
      if (result.status === 'rejected' && result.outcome) {
        // One record that does not map: its OperationOutcome, as the record API answers (400 / 422).
        throw new OperationOutcomeError(result.outcome);
      }
      res.json(result);
      return;
    }
    const all: DryRunResult[] = [...parsed.rejected, ...results].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const count = (s: DryRunResult['status']): number => all.filter((r) => r.status === s).length;
    res.json({ records: all.length, valid: count('valid'), invalid: count('invalid'), rejected: count('rejected'), results: all });
  });

  return router;
}
