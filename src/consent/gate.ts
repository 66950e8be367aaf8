/**
 * The consent gate: the DisclosureGate the sync worker asks right before each send. It loads the
 * client's consents and participants from the store (so a revocation stored a moment ago counts) and
 * lets the pure engine decide.
 */
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../domain/records.js';
import type { Store, StoredRecord } from '../store/port.js';
import type { DisclosureDecision, DisclosureGate } from '../sync/gate.js';
import type { RecordToMap } from '../sync/context.js';
import { decideDisclosure } from './engine.js';

export interface ConsentGateOptions {
  /** IANA zone in which consent period dates are read (config PRACTICE_TIME_ZONE). */
  timeZone: string;
}

export function createConsentGate(store: Pick<Store, 'records' | 'ledger'>, options: ConsentGateOptions): DisclosureGate {
  return {
    async decide({ main, records, target, now }): Promise<DisclosureDecision> {
      const session = main.kind === 'note' ? sessionOf(main, records) : undefined;
      const clientMrn = session?.client.mrn ?? main.clientMrn;
      if (!clientMrn) {
        return { effect: 'hold', reasons: [`the client of ${main.kind} ${main.id} is not known yet`] };
      }
      const [consents, participants, onTarget] = await Promise.all([
        store.records.listRecords({ kind: 'consent', clientMrn }),
        store.records.listRecords({ kind: 'participant', clientMrn }),
        main.kind === 'consent' ? store.ledger.getLedgerForRecord(target, 'consent', main.id).then((l) => l.length > 0) : false,
      ]);
      return decideDisclosure({
        kind: main.kind,
        record: main.body,
        session,
        consents: consents.map((r) => r.body as ConsentRecord),
        // Only this client's participants count: a participant filed under another client covers nothing here.
        participants: participants.map((r) => r.body as Participant),
        now,
        target,
        timeZone: options.timeZone,
        onTarget,
      });
    },
  };
}

function sessionOf(main: StoredRecord, records: RecordToMap[]): SessionRecord | undefined {
  const sessionId = (main.body as NoteRecord).sessionId;
  return records.find((r) => r.record.kind === 'session' && r.record.id === sessionId)?.record.body as SessionRecord | undefined;
}
