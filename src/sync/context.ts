/**
 * Gathers what a record needs to be mapped and sent: the records it depends on (a session's
 * participants, a note's session, a consent's recipients and signer), each with its own mapping context,
 * in dependency order. A missing dependency holds the record with a reason naming it.
 */
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../domain/records.js';
import type { MappingConfig, MappingContext } from '../mapping/index.js';
import type { Store, StoredRecord } from '../store/port.js';
import type { DisclosureDecision } from './gate.js';
import { HoldError } from './hold.js';
import { recordKey } from './wait-keys.js';

export interface RecordToMap {
  record: StoredRecord;
  context: MappingContext;
}

/**
 * Returns the record and its dependencies (dependencies first), each ready to map.
 * @throws HoldError when a dependency has not been received.
 */
export async function gatherRecords(store: Pick<Store, 'records'>, main: StoredRecord, config: MappingConfig): Promise<RecordToMap[]> {
  const out = new Map<string, RecordToMap>();
  await collect(store, main, config, out);
  return [...out.values()];
}

async function collect(store: Pick<Store, 'records'>, rec: StoredRecord, config: MappingConfig, out: Map<string, RecordToMap>): Promise<void> {
  const key = `${rec.kind}/${rec.id}`;
  if (out.has(key)) {
    return;
  }
  const context: MappingContext = { config };
  if (rec.kind === 'session' || rec.kind === 'consent') {
    const ids = participantIds(rec);
    const found = await store.records.getRecords('participant', ids);
    const missing = ids.filter((id) => !found.some((p) => p.id === id));
    if (missing.length > 0) {
      throw new HoldError(
        'waiting-for-record',
        `${rec.kind} ${rec.id} names participant ${missing.join(', ')}, not received yet`,
        missing.map((id) => recordKey('participant', id))
      );
    }
    context.participants = Object.fromEntries(found.map((p) => [p.id, p.body as Participant]));
    for (const p of found) {
      await collect(store, p, config, out);
    }
  } else if (rec.kind === 'note') {
    const note = rec.body as NoteRecord;
    const session = await store.records.getRecord('session', note.sessionId);
    if (!session) {
      throw new HoldError('waiting-for-record', `note ${rec.id} belongs to session ${note.sessionId}, not received yet`, [recordKey('session', note.sessionId)]);
    }
    await collect(store, session, config, out);
    context.session = session.body as SessionRecord;
  }
  out.set(key, { record: rec, context });
}

function participantIds(rec: StoredRecord): string[] {
  if (rec.kind === 'session') {
    return [...new Set((rec.body as SessionRecord).participants.map((p) => p.participantId))];
  }
  const consent = rec.body as ConsentRecord;
  const ids = [...consent.recipients];
  if (consent.signedBy?.participantId) {
    ids.push(consent.signedBy.participantId);
  }
  return [...new Set(ids)];
}

/**
 * The records with the disclosure gate's decision in their mapping context (%consents, %purposeOfUse):
 * the mappings label the resources (42 CFR Part 2, exception purpose of use) and link the consents relied on.
 */
export function withDisclosure(records: RecordToMap[], decision: Pick<DisclosureDecision, 'consents' | 'purposeOfUse'>): RecordToMap[] {
  return records.map((r) => ({ ...r, context: { ...r.context, consents: decision.consents ?? [], purposeOfUse: decision.purposeOfUse } }));
}

/** The client's MRN for a record and its dependencies (a note stored before its session has none of its own). */
export function clientMrnOf(records: RecordToMap[]): string | null {
  return records[records.length - 1]?.record.clientMrn ?? records.find((r) => r.record.clientMrn)?.record.clientMrn ?? null;
}
