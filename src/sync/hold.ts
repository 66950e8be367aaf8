/**
 * A record that cannot be sent yet (a missing Patient, a dependency not yet received...). Thrown inside
 * the sync use case and turned into the record's `held` state with the reason. Codes are safe to log;
 * the text may name ids and is shown to API callers only.
 *
 * A hold names what would release it (`waitFor`, wait keys from wait-keys.ts): the entry waits for one
 * of those events instead of being retried on a timer, and `recheckAt` when time alone can release it
 * (a consent whose period starts later).
 */
export type HoldCode =
  | 'patient-not-found'
  | 'patient-ambiguous'
  | 'practitioner-not-found'
  | 'practitioner-ambiguous'
  | 'waiting-for-record'
  | 'waiting-for-dependency'
  | 'target-unsupported'
  | 'no-consent';

export class HoldError extends Error {
  constructor(
    readonly code: HoldCode,
    readonly text: string,
    /** Wait keys whose event may release the record. */
    readonly waitFor: string[] = [],
    /** A time at which the record may go without any event. */
    readonly recheckAt?: Date
  ) {
    super(`${code}: ${text}`);
    this.name = 'HoldError';
  }
}
