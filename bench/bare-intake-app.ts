/**
 * The intake benchmark's yardstick (bench/intake.ts): a bare express app with the same JSON body parser
 * and the same inbound validation (ajv schemas + cross-field rules, src/inbound/validate.ts) as the
 * service's PUT route, and no store: what one Node process on this machine can answer when nothing is
 * written. Runs as its own process; prints `listening <port>` once ready.
 */
import express from 'express';
import { isRecordKind, type RecordKind } from '../src/domain/records.js';
import { validateRecord } from '../src/inbound/validate.js';
import { OperationOutcomeError } from '../src/outcomes.js';

const KINDS: Record<string, RecordKind> = { participants: 'participant', consents: 'consent', sessions: 'session', notes: 'note' };

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.put('/api/v1/:collection/:id', express.json({ limit: 15 * 1024 * 1024 }), (req, res) => {
  const kind = KINDS[req.params.collection];
  if (!isRecordKind(kind)) {
    res.status(404).end();
    return;
  }
  try {
    const record = validateRecord(kind, req.body);
    // The same answer size as the service's (kind, id, status, version, sync state).
    res.status(201).json({ kind, id: record.id, status: 'accepted', version: 1, sync: [{ target: 'embedded', state: 'pending', attempts: 0, updatedAt: new Date().toISOString() }] });
  } catch (err) {
    res.status(err instanceof OperationOutcomeError ? 400 : 500).json(err instanceof OperationOutcomeError ? err.outcome : {});
  }
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
