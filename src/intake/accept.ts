/**
 * Accepting records: decide the client they belong to and whether policy keeps them local, then store
 * each record with its outbox entries in one transaction, and tell the sync what changed.
 */
import type { AnyRecord, NoteRecord, RecordKind, SessionRecord } from '../domain/records.js';
import type { PutRecordInput, PutRecordResult, Store } from '../store/port.js';
import { localOnlyReason } from './policy.js';

export interface IntakeDeps {
  store: Pick<Store, 'records'>;
  /** Names of the sync targets every disclosable record is queued for. */
  targets: string[];
  /**
   * Called after each commit with the results of the records that changed (the sync wakes the held
   * records waiting for them: src/sync/wait-keys.ts).
   */
  onAccepted?: (changed: PutRecordResult[]) => void;
}

export interface IncomingRecord {
  kind: RecordKind;
  record: AnyRecord;
}

/**
 * Stores records (one transaction for the whole list) and returns one result per record, in order.
 */
export async function acceptRecords(deps: IntakeDeps, items: IncomingRecord[]): Promise<PutRecordResult[]> {
  const sessionsInBatch = new Map<string, string>();
  const inputs: PutRecordInput[] = [];
  for (const item of items) {
    const clientMrn = await clientOf(deps.store, item, sessionsInBatch);
    const clientKey = clientMrn ?? `session:${(item.record as NoteRecord).sessionId}`;
    if (item.kind === 'session') {
      sessionsInBatch.set(item.record.id, (item.record as SessionRecord).client.mrn);
    }
    inputs.push({
      kind: item.kind,
      record: item.record,
      clientMrn,
      clientKey,
      targets: deps.targets,
      blocked: localOnlyReason(item.kind, item.record),
    });
  }
  const results = await deps.store.records.putRecords(inputs);
  const changed = results.filter((r) => r.changed);
  if (changed.length > 0) {
    deps.onAccepted?.(changed);
  }
  return results;
}

async function clientOf(store: Pick<Store, 'records'>, item: IncomingRecord, sessionsInBatch: Map<string, string>): Promise<string | null> {
  if (item.kind !== 'note') {
    return (item.record as { client: { mrn: string } }).client.mrn;
  }
  const sessionId = (item.record as NoteRecord).sessionId;
  const inBatch = sessionsInBatch.get(sessionId);
  if (inBatch) {
    return inBatch;
  }
  const session = await store.records.getRecord('session', sessionId);
  return session?.clientMrn ?? null;
}
