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

export interface DisclosureGate {
  decide(input: { main: StoredRecord; records: RecordToMap[]; target: string; now: Date }): Promise<DisclosureDecision>;
}

/** The gate used when no consent engine is configured. */
export const permitAll: DisclosureGate = {
  async decide() {
    return { effect: 'permit', reasons: [] };
  },
};
