/**
 * A record that cannot be sent yet (a missing Patient, a dependency not yet received...). Thrown inside
 * the sync use case and turned into the record's `held` state with the reason. Codes are safe to log;
 * the text may name ids and is shown to API callers only.
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
    readonly text: string
  ) {
    super(`${code}: ${text}`);
    this.name = 'HoldError';
  }
}
