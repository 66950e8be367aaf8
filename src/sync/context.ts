/**
 * Gathers what a record needs to be mapped and sent: the records it depends on (a session's
 * participants, a note's session, a consent's recipients and signer), each with its own mapping context,
 * in dependency order. A missing dependency holds the record with a reason naming it.
 *
 * Load and decide apart: `loadRecordIndex` reads the records of a whole claimed batch and their
 * dependencies level by level (one read per kind and level, whatever the batch's size);
 * `recordsToMap` assembles one record's list from what was read, without the store.
 */
import type { ConsentRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../domain/records.js';
import type { MappingConfig, MappingContext } from '../mapping/index.js';
import type { Store, StoredRecord } from '../store/port.js';
import type { DisclosureDecision } from './gate.js';
import { HoldError } from './hold.js';
import { recordKey } from './wait-keys.js';

export interface RecordToMap {
  record: StoredRecord;
  context: MappingContext;
}

/** Records read, by `kind/id`; a dependency read and not found is absent. */
export type RecordIndex = Map<string, StoredRecord>;

function keyOf(kind: RecordKind, id: string): string {
  return `${kind}/${id}`;
}

/** The records a record names directly: its participants (session, consent) or its session (note). */
function dependenciesOf(rec: StoredRecord): { kind: RecordKind; id: string }[] {
  if (rec.kind === 'session' || rec.kind === 'consent') {
    return participantIds(rec).map((id) => ({ kind: 'participant', id }));
  }
  if (rec.kind === 'note') {
    return [{ kind: 'session', id: (rec.body as NoteRecord).sessionId }];
  }
  return [];
}

/**
 * Load: `mains` and everything they depend on, transitively, one `getRecords` per kind and level
 * (a batch of notes: their sessions, then those sessions' participants).
 */
export async function loadRecordIndex(store: Pick<Store, 'records'>, mains: StoredRecord[]): Promise<RecordIndex> {
  const index: RecordIndex = new Map(mains.map((r) => [keyOf(r.kind, r.id), r]));
  const asked = new Set(index.keys());
  let frontier = mains;
  while (frontier.length > 0) {
    const wanted = new Map<RecordKind, string[]>();
    for (const rec of frontier) {
      for (const d of dependenciesOf(rec)) {
        const k = keyOf(d.kind, d.id);
        if (!asked.has(k)) {
          asked.add(k);
          wanted.set(d.kind, [...(wanted.get(d.kind) ?? []), d.id]);
        }
      }
    }
    const next: StoredRecord[] = [];
    for (const [kind, ids] of wanted) {
      for (const r of await store.records.getRecords(kind, ids)) {
        index.set(keyOf(r.kind, r.id), r);
        next.push(r);
      }
    }
    frontier = next;
  }
  return index;
}

/**
 * Decide (pure): the record and its dependencies (dependencies first), each ready to map, from what
 * was read.
 * @throws HoldError when a dependency has not been received.
 */
export function recordsToMap(main: StoredRecord, index: RecordIndex, config: MappingConfig): RecordToMap[] {
  const out = new Map<string, RecordToMap>();
  collect(main, index, config, out);
  return [...out.values()];
}

/**
 * Returns the record and its dependencies (dependencies first), each ready to map (load and assemble;
 * the console and the remap plan use it for one record).
 * @throws HoldError when a dependency has not been received.
 */
export async function gatherRecords(store: Pick<Store, 'records'>, main: StoredRecord, config: MappingConfig): Promise<RecordToMap[]> {
  return recordsToMap(main, await loadRecordIndex(store, [main]), config);
}

function collect(rec: StoredRecord, index: RecordIndex, config: MappingConfig, out: Map<string, RecordToMap>): void {
  const key = keyOf(rec.kind, rec.id);
  if (out.has(key)) {
    return;
  }
  const context: MappingContext = { config };
  if (rec.kind === 'session' || rec.kind === 'consent') {
    const ids = participantIds(rec);
    const found = ids.flatMap((id) => index.get(keyOf('participant', id)) ?? []);
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
      collect(p, index, config, out);
    }
  } else if (rec.kind === 'note') {
    const note = rec.body as NoteRecord;
    const session = index.get(keyOf('session', note.sessionId));
    if (!session) {
      throw new HoldError('waiting-for-record', `note ${rec.id} belongs to session ${note.sessionId}, not received yet`, [recordKey('session', note.sessionId)]);
    }
    collect(session, index, config, out);
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
