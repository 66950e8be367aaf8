/**
 * The records slice on PostgreSQL: source records, versioned, enqueued for their targets in the same
 * transaction as they are stored. putRecordGroup is the intake's group commit: many requests' puts in
 * one transaction (one durable COMMIT), each in its own savepoint.
 */
import type { RecordKind } from '../../domain/records.js';
import { internalError } from '../../outcomes.js';
import { contentHash } from '../hash.js';
import type { GroupPut, GroupPutOutcome, ImportJobProgress } from '../import-jobs.js';
import type { RecordStore } from '../port.js';
import { type RecordRow, toRecord } from '../sqlite/rows.js';
import type { PutRecordInput, PutRecordResult, RecordFilter, StoredRecord, SyncState } from '../types.js';
import { isRetryable, type PgDb, type Queryable } from './db.js';
import { writeJobProgress } from './import-jobs.js';
import { enqueueRow, lockHeads } from './queue-rows.js';
import { setSyncState } from './sync-state-rows.js';

export class PgRecords implements RecordStore {
  constructor(private readonly db: PgDb) {}

  async putRecord(input: PutRecordInput): Promise<PutRecordResult> {
    return (await this.putRecords([input]))[0];
  }

  async putRecords(inputs: PutRecordInput[]): Promise<PutRecordResult[]> {
    return this.db.tx(async (c) => {
      const now = new Date().toISOString();
      await lockHeads(c, inputs.flatMap(headsOf));
      const out: PutRecordResult[] = [];
      for (const input of inputs) {
        out.push(await putOne(c, input, now));
      }
      await this.notify(c, inputs);
      return out;
    });
  }

  async putRecordGroup(puts: GroupPut[], jobs: ImportJobProgress[] = [], afterWrite?: (outcomes: GroupPutOutcome[]) => void): Promise<GroupPutOutcome[]> {
    const outcomes = await this.writeGroup(puts, jobs);
    // Committed: the caller's wake-ups run before anything else this process does with the store.
    afterWrite?.(outcomes);
    return outcomes;
  }

  private async writeGroup(puts: GroupPut[], jobs: ImportJobProgress[]): Promise<GroupPutOutcome[]> {
    return this.db.tx(async (c) => {
      const now = new Date().toISOString();
      await lockHeads(c, puts.flatMap((p) => headsOf(p.input)));
      const outcomes: GroupPutOutcome[] = [];
      for (const p of puts) {
        await c.query('SAVEPOINT put');
        try {
          outcomes.push({ ok: true, result: await putOne(c, p.input, now) });
          await c.query('RELEASE SAVEPOINT put');
        } catch (error) {
          // A deadlock is no fault of this put: the whole group runs again (db.tx).
          if (isRetryable(error)) {
            throw error;
          }
          await c.query('ROLLBACK TO SAVEPOINT put');
          outcomes.push({ ok: false, error });
        }
      }
      const jobLines = puts.flatMap((p, i) => {
        if (!p.job) {
          return [];
        }
        const o = outcomes[i];
        return [{ ...p.job, ...(o.ok ? { result: o.result } : { failure: internalError() }) }];
      });
      if (jobLines.length > 0 || jobs.length > 0) {
        await writeJobProgress(c, jobs, jobLines, now);
      }
      await this.notify(
        c,
        puts.filter((_, i) => outcomes[i].ok).map((p) => p.input)
      );
      return outcomes;
    });
  }

  /** Other instances' workers look for work when this commits. */
  private async notify(c: Queryable, inputs: PutRecordInput[]): Promise<void> {
    for (const target of new Set(inputs.filter((i) => !i.blocked).flatMap((i) => i.targets))) {
      await this.db.notifyWork(c, target);
    }
  }

  async getRecord(kind: RecordKind, id: string): Promise<StoredRecord | undefined> {
    const r = await this.db.query<RecordRow>('SELECT * FROM records WHERE kind = $1 AND id = $2', [kind, id]);
    return r.rows[0] ? toRecord(r.rows[0]) : undefined;
  }

  async getRecords(kind: RecordKind, ids: string[]): Promise<StoredRecord[]> {
    const r = await this.db.query<RecordRow>('SELECT * FROM records WHERE kind = $1 AND id = ANY($2::text[])', [kind, ids]);
    const byId = new Map(r.rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toRecord(row)] : [];
    });
  }

  async listRecords(filter: RecordFilter): Promise<StoredRecord[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.clientMrn !== undefined) {
      params.push(filter.clientMrn);
      where.push(`client_mrn = $${params.length}`);
    }
    if (filter.kind !== undefined) {
      params.push(filter.kind);
      where.push(`kind = $${params.length}`);
    }
    const r = await this.db.query<RecordRow>(`SELECT * FROM records ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY kind, id`, params);
    return r.rows.map(toRecord);
  }
}

/** The queue heads a put may change (locked first, in one order, so concurrent puts never deadlock on them). */
function headsOf(input: PutRecordInput): { clientKey: string; target: string }[] {
  if (input.blocked) {
    return [];
  }
  const own = input.targets.map((target) => ({ clientKey: input.clientKey, target }));
  const notes = input.kind === 'session' ? input.targets.map((target) => ({ clientKey: `session:${input.record.id}`, target })) : [];
  return [...own, ...notes];
}

/** One put; call inside a transaction. The upsert decides the version atomically (concurrent instances). */
async function putOne(c: Queryable, input: PutRecordInput, now: string): Promise<PutRecordResult> {
  const { kind } = input;
  const id = input.record.id;
  const hash = contentHash(input.record);
  // Inserts version 1, or bumps the version of a different body; an identical body changes nothing.
  const written = await c.query<{ version: number; received_at: string; created: boolean }>(
    `INSERT INTO records AS r (kind, id, client_mrn, version, hash, body, received_at, updated_at)
     VALUES ($1, $2, $3, 1, $4, $5, $6, $6)
     ON CONFLICT (kind, id) DO UPDATE SET client_mrn = excluded.client_mrn, version = r.version + 1,
       hash = excluded.hash, body = excluded.body, updated_at = excluded.updated_at
       WHERE r.hash <> excluded.hash
     RETURNING version, received_at, (xmax = 0) AS created`,
    [kind, id, input.clientMrn, hash, JSON.stringify(input.record), now]
  );
  if (written.rows.length === 0) {
    const existing = (
      await c.query<Pick<RecordRow, 'client_mrn' | 'version' | 'received_at' | 'updated_at'>>(
        'SELECT client_mrn, version, received_at, updated_at FROM records WHERE kind = $1 AND id = $2',
        [kind, id]
      )
    ).rows[0];
    const record: StoredRecord = {
      kind,
      id,
      clientMrn: existing.client_mrn,
      version: existing.version,
      hash,
      body: input.record,
      receivedAt: existing.received_at,
      updatedAt: existing.updated_at,
    };
    return { record, changed: false, created: false };
  }
  const { version, received_at: receivedAt, created } = written.rows[0];
  if (kind === 'session' && !input.blocked) {
    // Notes received before their session waited under the session's key: they join the client's queue.
    for (const target of input.targets) {
      await c.query('UPDATE outbox SET client_key = $1 WHERE target = $2 AND client_key = $3', [input.clientKey, target, `session:${id}`]);
    }
  }
  if (input.blocked) {
    await c.query('DELETE FROM outbox WHERE kind = $1 AND record_id = $2', [kind, id]);
    await c.query('DELETE FROM sync_state WHERE kind = $1 AND record_id = $2', [kind, id]);
    await setSyncState(c, { kind, recordId: id, target: 'local', state: 'blocked', reason: input.blocked, attempts: 0, now });
  } else {
    for (const target of input.targets) {
      await enqueueRow(c, { kind, recordId: id, target, version, clientKey: input.clientKey, now });
    }
  }
  const record: StoredRecord = { kind, id, clientMrn: input.clientMrn, version, hash, body: input.record, receivedAt, updatedAt: now };
  if (!created) {
    return { record, changed: true, created: false };
  }
  const createdStates: SyncState[] = input.blocked
    ? [{ kind, recordId: id, target: 'local', state: 'blocked', reason: input.blocked, attempts: 0, updatedAt: now }]
    : [...new Set(input.targets)].sort().map((target) => ({ kind, recordId: id, target, state: 'pending', attempts: 0, updatedAt: now }));
  return { record, changed: true, created: true, createdStates };
}
