/**
 * Input and output of the consent engine. Everything the decision depends on is passed in (the record,
 * the client's consents and participants, the time, the zone), so the engine is a pure function.
 */
import type { AnyRecord, ConsentRecord, Participant, RecordKind, SessionRecord } from '../domain/records.js';

export interface EngineInput {
  kind: RecordKind;
  record: AnyRecord;
  /** A note's session (required to decide on a note). */
  session?: SessionRecord;
  /** Every consent record of the client. */
  consents: readonly ConsentRecord[];
  /** Every participant record of the client. */
  participants: readonly Participant[];
  /** The moment of sending: revoked or ended consents permit nothing from then on. */
  now: Date;
  /** The target the data would go to (named in reasons only). */
  target: string;
  /** IANA time zone in which consent period dates are read (`UTC`, `America/New_York`). */
  timeZone: string;
  /** An earlier version of this record is already on the target (a correction may follow it there). */
  onTarget?: boolean;
}

export type Effect = 'permit' | 'hold' | 'deny';

export interface EngineDecision {
  /** permit: send now; hold: keep queued until something changes; deny: never send this version. */
  effect: Effect;
  /** Plain-words reasons, ids and dates only (they are shown in the record's state). */
  reasons: string[];
  /** Ids of the consents relied on, sorted. */
  consentIds: string[];
  /** The consent records relied on, in the order of consentIds (for labels and links in the mapping). */
  consents: ConsentRecord[];
  /** v3 PurposeOfUse: TREAT, or THREAT / HLEGAL / ETREAT for a disclosure under an exception. */
  purposeOfUse?: string;
  /** The session's free-text exception reason: for the local AuditEvent only, never for logs or state. */
  exceptionReason?: string;
}
