/**
 * Wait keys: what a held record waits for, and the events that release it (issue #8 item 2). A held
 * outbox entry stores the keys of its hold; an event wakes exactly the entries waiting on its keys
 * (OutboxStore.wake). Keys are opaque to the store; they carry ids and MRNs (never logged).
 *
 * | Key | A hold waits on it when | The event that wakes it |
 * |---|---|---|
 * | `record:{kind}/{id}` | a record it needs has not been received (a participant of a session, a note's session, a consent a session names) | that record stored or changed (intake) |
 * | `party:{mrn}/{participantId}` | consent does not cover that participant yet (consent gate) | the participant stored or changed, or a consent of the client naming them (recipient or signer) stored or changed (intake) |
 * | `dep:{kind}/{id}` | a queued dependency goes first | that record's delivery settled other than failed: synced, not-writable, held, dead letter, blocked (worker) |
 * | `ledger:{type}\|{identifier}` | a resource it references is not on the target yet | a resource with that identifier written to the target (worker) |
 * | `client:{clientKey}` | the target has no (or several) Patient or Practitioner for it | a record of the client delivered to the target (worker) |
 *
 * Besides events, a held record goes again on an operator's retry, at its hold's own time (a consent
 * period starting later) and at the slow periodic recheck (SYNC_HELD_RECHECK_MS).
 */
import type { ConsentRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../domain/records.js';
import type { PutRecordResult, WakeEvent } from '../store/port.js';

export const recordKey = (kind: RecordKind, id: string): string => `record:${kind}/${id}`;
export const partyKey = (clientMrn: string, participantId: string): string => `party:${clientMrn}/${participantId}`;
export const depKey = (kind: RecordKind, id: string): string => `dep:${kind}/${id}`;
export const ledgerKey = (resourceType: string, identifier: string): string => `ledger:${resourceType}|${identifier}`;
export const clientKeyOf = (clientKey: string): string => `client:${clientKey}`;

/** The client key a record is queued under (see intake: a note before its session waits under the session's key). */
export function queueKeyOf(kind: RecordKind, clientMrn: string | null, body: unknown): string {
  return clientMrn ?? `session:${(body as NoteRecord).sessionId}`;
}

/**
 * The wake event of records just stored (intake calls back after each commit with the changed results).
 */
export function intakeWakeEvent(results: PutRecordResult[]): WakeEvent {
  const keys = new Set<string>();
  const clientKeys = new Set<string>();
  for (const { record, changed } of results) {
    if (!changed) {
      continue;
    }
    keys.add(recordKey(record.kind, record.id));
    clientKeys.add(queueKeyOf(record.kind, record.clientMrn, record.body));
    const mrn = record.clientMrn;
    if (record.kind === 'participant' && mrn) {
      keys.add(partyKey(mrn, (record.body as Participant).id));
    } else if (record.kind === 'consent' && mrn) {
      const consent = record.body as ConsentRecord;
      for (const p of [...consent.recipients, ...(consent.signedBy?.participantId ? [consent.signedBy.participantId] : [])]) {
        keys.add(partyKey(mrn, p));
      }
    } else if (record.kind === 'session') {
      // Notes that waited under the session's key have joined the client's queue.
      clientKeys.add(`session:${(record.body as SessionRecord).id}`);
    }
  }
  return { keys: [...keys], clientKeys: [...clientKeys] };
}
