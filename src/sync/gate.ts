/**
 * The disclosure gate: asked right before a record is sent (so a retry or replay after a revocation is
 * checked again) whether its data may go to the target now. The consent engine (src/consent/) plugs in
 * here; without it everything not blocked at intake is permitted.
 */
import type { ConsentRecord } from '../domain/records.js';
import type { StoredRecord } from '../store/port.js';
import type { RecordToMap } from './context.js';

export interface DisclosureDecision {
  effect: 'permit' | 'hold' | 'deny';
  /** Plain-words reasons, shown in the record's state (ids and dates only, no names). */
  reasons: string[];
  /** Ids of the consent records relied on. */
  consentIds?: string[];
  /** v3 PurposeOfUse code the disclosure happens under (TREAT, THREAT, HLEGAL, ETREAT ...). */
  purposeOfUse?: string;
  /** The consent records relied on: the mappings label and link the resources with them (%consents). */
  consents?: ConsentRecord[];
  /** Free-text reason of a disclosure under an exception: stored in the local AuditEvent only, never logged. */
  exceptionReason?: string;
  /**
   * The wait keys (wait-keys.ts) whose event may change this decision. A hold waits on them, and so does
   * a hold later in the same attempt (a missing Patient): the record is looked at again when its
   * consents change, whatever else it waits for.
   */
  waitFor?: string[];
  /** A hold that time alone releases (a consent period starting later): when to look again. */
  recheckAt?: Date;
}

/** What the gate decides on: the record, the records it is mapped with, the target, the time. */
export interface GateInput {
  main: StoredRecord;
  records: RecordToMap[];
  target: string;
  now: Date;
}

/**
 * The gate in two stages: `load` reads what the decision needs (the consent gate: the client's consents
 * and participants, whether a consent is on the target already), `decideWith` decides from it without
 * any I/O, so the sync can read first and decide in a pure function. `decide` does both (the console and
 * the remap plan ask about one record).
 */
export interface DisclosureGate<Facts = unknown> {
  load(input: Omit<GateInput, 'now'>): Promise<Facts>;
  decideWith(input: GateInput, facts: Facts): DisclosureDecision;
  decide(input: GateInput): Promise<DisclosureDecision>;
}

/** The gate used when no consent engine is configured. */
export const permitAll: DisclosureGate<null> = {
  async load() {
    return null;
  },
  decideWith() {
    return { effect: 'permit', reasons: [] };
  },
  async decide() {
    return { effect: 'permit', reasons: [] };
  },
};
