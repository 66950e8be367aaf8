/**
 * The consent gate: the DisclosureGate the sync worker asks right before each send. Its load stage reads the
 * client's consents and participants from the store (so a revocation stored a moment ago counts; two
 * index lookups by client, whatever the store's size) and lets the pure engine decide. A hold names
 * what would release it: the participants whose coverage is in question (a consent naming them, or
 * the participant record, arriving or changing), a consent the session names that has not arrived, the
 * note's session, and the day a consent of the client starts when that is still ahead. A record held
 * later in the attempt (a missing Patient) waits on the same keys: a revocation is looked at at once.
 */
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../domain/records.js';
import type { Store, StoredRecord } from '../store/port.js';
import type { DisclosureDecision, DisclosureGate } from '../sync/gate.js';
import type { RecordToMap } from '../sync/context.js';
import { partyKey, recordKey } from '../sync/wait-keys.js';
import { periodBounds } from './coverage.js';
import { decideDisclosure } from './engine.js';

export interface ConsentGateOptions {
  /** IANA zone in which consent period dates are read (config PRACTICE_TIME_ZONE). */
  timeZone: string;
}

/** What the consent gate reads for one decision (its load stage). */
export interface ConsentFacts {
  /** The client's consents and participants (none when the client is not known yet). */
  consents: ConsentRecord[];
  participants: Participant[];
  /** A consent record already on the target (its revision may go even when it no longer permits). */
  onTarget: boolean;
}

export function createConsentGate(store: Pick<Store, 'records' | 'ledger'>, options: ConsentGateOptions): DisclosureGate<ConsentFacts> {
  const gate: DisclosureGate<ConsentFacts> = {
    async load({ main, records, target }): Promise<ConsentFacts> {
      const clientMrn = clientOf(main, records);
      if (!clientMrn) {
        return { consents: [], participants: [], onTarget: false };
      }
      const [consents, participants, onTarget] = await Promise.all([
        store.records.listRecords({ kind: 'consent', clientMrn }),
        store.records.listRecords({ kind: 'participant', clientMrn }),
        main.kind === 'consent' ? store.ledger.getLedgerForRecord(target, 'consent', main.id).then((l) => l.length > 0) : false,
      ]);
      return { consents: consents.map((r) => r.body as ConsentRecord), participants: participants.map((r) => r.body as Participant), onTarget };
    },
    decideWith({ main, records, target, now }, facts): DisclosureDecision {
      const session = main.kind === 'note' ? sessionOf(main, records) : undefined;
      const clientMrn = clientOf(main, records);
      if (!clientMrn) {
        const sessionId = (main.body as NoteRecord).sessionId;
        return { effect: 'hold', reasons: [`the client of ${main.kind} ${main.id} is not known yet`], waitFor: [recordKey('session', sessionId)] };
      }
      const decision = decideDisclosure({
        kind: main.kind,
        record: main.body,
        session,
        consents: facts.consents,
        // Only this client's participants count: a participant filed under another client covers nothing here.
        participants: facts.participants,
        now,
        target,
        timeZone: options.timeZone,
        onTarget: facts.onTarget,
      });
      const waitFor = decisionKeys(main, session, clientMrn);
      if (decision.effect !== 'hold') {
        return { ...decision, waitFor };
      }
      const recheckAt = nextConsentStart(facts.consents, now, options.timeZone);
      return { ...decision, waitFor, ...(recheckAt ? { recheckAt } : {}) };
    },
    async decide(input): Promise<DisclosureDecision> {
      return gate.decideWith(input, await gate.load(input));
    },
  };
  return gate;
}

/** The client's MRN: the record's own, or a note's session's. */
function clientOf(main: StoredRecord, records: RecordToMap[]): string | null | undefined {
  const session = main.kind === 'note' ? sessionOf(main, records) : undefined;
  return session?.client.mrn ?? main.clientMrn;
}

/**
 * What may change the decision on a record: any change to the participants whose coverage decides it
 * (a consent naming them, or their own record), and the consents its session names. Coarser than the
 * engine's reasons (a session with two participants waits on both), never finer: a record woken
 * needlessly is held again, silently.
 */
function decisionKeys(main: StoredRecord, session: SessionRecord | undefined, clientMrn: string): string[] {
  const keys: string[] = [];
  const parties = (s: SessionRecord): void => {
    s.participants.forEach((p) => keys.push(partyKey(clientMrn, p.participantId)));
    (s.consentIds ?? []).forEach((id) => keys.push(recordKey('consent', id)));
  };
  if (main.kind === 'participant') {
    keys.push(partyKey(clientMrn, main.id));
  } else if (main.kind === 'consent') {
    const signer = (main.body as ConsentRecord).signedBy?.participantId;
    if (signer) {
      keys.push(partyKey(clientMrn, signer));
    }
  } else if (main.kind === 'session') {
    parties(main.body as SessionRecord);
  } else if (session) {
    parties(session);
  }
  return [...new Set(keys)];
}

/** The earliest start of a consent period still ahead (time alone may then release a hold), if any. */
function nextConsentStart(consents: ConsentRecord[], now: Date, timeZone: string): Date | undefined {
  let next: number | undefined;
  for (const c of consents) {
    const { start } = periodBounds(c, timeZone);
    if (Number.isFinite(start) && start > now.getTime() && (next === undefined || start < next)) {
      next = start;
    }
  }
  return next === undefined ? undefined : new Date(next);
}

function sessionOf(main: StoredRecord, records: RecordToMap[]): SessionRecord | undefined {
  const sessionId = (main.body as NoteRecord).sessionId;
  return records.find((r) => r.record.kind === 'session' && r.record.id === sessionId)?.record.body as SessionRecord | undefined;
}
