/**
 * POST /api/v1/import: NDJSON, one `{"kind": ..., "record": {...}}` per line, with a result per line.
 * Good lines are stored even when others are rejected; lines are committed in chunks, so everything
 * answered as accepted is durable.
 */
import express, { type Router } from 'express';
import { parseImportLine } from '../../inbound/validate.js';
import { acceptRecords, type IncomingRecord, type IntakeDeps } from '../../intake/accept.js';
import { OperationOutcomeError, toOutcome } from '../../outcomes.js';

const CHUNK = 500;

interface LineResult {
  line: number;
  kind?: string;
  id?: string;
  status: 'accepted' | 'unchanged' | 'rejected';
  version?: number;
  outcome?: object;
}

export function importRouter(deps: IntakeDeps, limitBytes: number): Router {
  const router = express.Router();
  const text = express.text({
    limit: limitBytes,
    type: ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/plain', 'application/octet-stream'],
  });

  router.post('/import', text, async (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const results: LineResult[] = [];
    let pending: { line: number; item: IncomingRecord }[] = [];

    const flush = async (): Promise<void> => {
      if (pending.length === 0) {
        return;
      }
      const stored = await acceptRecords(deps, pending.map((p) => p.item));
      stored.forEach((r, i) =>
        results.push({
          line: pending[i].line,
          kind: r.record.kind,
          id: r.record.id,
          status: r.changed ? 'accepted' : 'unchanged',
          version: r.record.version,
        })
      );
      pending = [];
    };

    const lines = body.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') {
        continue;
      }
      try {
        pending.push({ line: i + 1, item: parseImportLine(lines[i], i + 1) });
      } catch (err) {
        if (!(err instanceof OperationOutcomeError)) {
          throw err;
        }
        results.push({ line: i + 1, status: 'rejected', outcome: toOutcome(err) });
      }
      if (pending.length >= CHUNK) {
        await flush();
      }
    }
    await flush();
    results.sort((a, b) => a.line - b.line);
    const count = (s: LineResult['status']): number => results.filter((r) => r.status === s).length;
    res.json({
      lines: results.length,
      accepted: count('accepted'),
      unchanged: count('unchanged'),
      rejected: count('rejected'),
      results,
    });
  });

  return router;
}
