/**
 * What verify-target reports. Only types, server ids, versions, codes, our record ids and write tags:
 * no PHI. An identifier is shown as `system|…` (our collateral-contact values embed the client's MRN,
 * a clinician's carries the NPI); the ledger's record (`kind/id`) says which one it is.
 */

/** A ledger entry whose resource the target does not have (deleted, or never there). */
export interface MissingProblem {
  check: 'missing';
  resourceType: string;
  id: string;
  identifier: string;
  /** The source record the ledger entry belongs to (`participant/p-1`). */
  record: string;
}

/** A ledger entry whose resource is on the target at another version: someone else changed it. */
export interface ChangedProblem {
  check: 'changed';
  resourceType: string;
  id: string;
  identifier: string;
  record: string;
  ledgerVersion: string;
  targetVersion: string;
}

/** More than one resource on the target with one of our identifiers (or one write tag). */
export interface DuplicateProblem {
  check: 'duplicate';
  resourceType: string;
  /** `system|…`, or a Provenance's whole write tag (a hash). */
  identifier: string;
  /** The ledger's record for that identifier, when the ledger knows it. */
  record?: string;
  ids: string[];
}

/** A Provenance with our write tag whose target does not resolve or names a version that does not exist. */
export interface OrphanProblem {
  check: 'orphan-provenance';
  /** The Provenance's id. */
  id: string;
  /** `Type/id/_history/v` as it points, or '' when it has no target. */
  target: string;
  reason: 'no-target' | 'unresolvable-reference' | 'target-missing' | 'version-missing';
}

export type VerifyProblem = MissingProblem | ChangedProblem | DuplicateProblem | OrphanProblem;

export interface VerifyReport {
  /** The target's name in the store (its base URL, or `embedded`). */
  target: string;
  problems: VerifyProblem[];
  checked: {
    /** Ledger entries compared with the target (resources and Provenances). */
    ledgerEntries: number;
    /** Identifiers searched for duplicates. */
    identifiers: number;
    /** Provenances with our write tag found on the target. */
    provenances: number;
    /** Earlier resource versions read to prove a Provenance's target exists. */
    versionsRead: number;
  };
  /** What this target did not let us check, and why (not problems: gaps of the check). */
  notChecked: string[];
}
