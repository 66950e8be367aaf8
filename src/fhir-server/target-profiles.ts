/**
 * Target profiles: what an EHR's FHIR API accepts, as configuration of the embedded server. `full` is
 * the embedded server as it is; `epic-like` and `oracle-like` reproduce the public CapabilityStatements
 * of Epic's R4 sandbox and Oracle Health Millennium R4, so the sync can be proven against the EHR reality
 * with a real server instead of mocks. The HTTP layer enforces a profile (profile-rules.ts) and
 * /metadata publishes it (profile-capability.ts); docs/target-profiles-and-faults.md has the tables.
 */

/** The names accepted by EMBEDDED_FHIR_PROFILE, the standalone server and the test helpers. */
export const PROFILE_NAMES = ['full', 'epic-like', 'oracle-like'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** The type-level interactions a profile can grant (the CapabilityStatement codes). */
export type TypeInteraction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'create'
  | 'search-type';

/** The system-level interactions a profile can grant. */
export type SystemInteraction = 'batch' | 'transaction' | 'search-system';

/** What one resource type allows. */
export interface TypeRules {
  interactions: readonly TypeInteraction[];
  /** The only search parameters accepted; undefined = every parameter the server supports. */
  searchParams?: readonly string[];
}

/** A restricted profile: anything not listed is refused. */
export interface RestrictedProfile {
  name: Exclude<ProfileName, 'full'>;
  description: string;
  types: Readonly<Record<string, TypeRules>>;
  system: readonly SystemInteraction[];
  /** Conditional create/update/patch/delete (If-None-Exist, `Type?query`). */
  conditional: boolean;
}

/** `full`: no restriction at all, the embedded server as it always was. */
export interface FullProfile {
  name: 'full';
  description: string;
}

export type TargetProfile = FullProfile | RestrictedProfile;

const READ_SEARCH: TypeRules = { interactions: ['read', 'search-type'] };

export const FULL: FullProfile = {
  name: 'full',
  description: 'Every resource type and interaction, batch and transaction, conditional operations',
};

/** Epic (its R4 sandbox CapabilityStatement): only DocumentReference is writable; no bundles. */
export const EPIC_LIKE: RestrictedProfile = {
  name: 'epic-like',
  description:
    'Epic-like: DocumentReference create and update only; Patient, Practitioner, Encounter, RelatedPerson, ' +
    'Consent read and search; Provenance read; no batch, no transaction, no conditional operations',
  types: {
    Patient: READ_SEARCH,
    Practitioner: READ_SEARCH,
    Encounter: READ_SEARCH,
    RelatedPerson: READ_SEARCH,
    Consent: READ_SEARCH,
    DocumentReference: { interactions: ['read', 'search-type', 'create', 'update'] },
    Provenance: { interactions: ['read'] },
  },
  system: [],
  conditional: false,
};

/**
 * Oracle Health Millennium R4 (its CapabilityStatement): batch but no transaction, no conditional
 * operations, RelatedPerson and Encounter create + patch (no PUT), no identifier search on
 * DocumentReference, Consent read-only.
 */
export const ORACLE_LIKE: RestrictedProfile = {
  name: 'oracle-like',
  description:
    'Oracle-like: batch but no transaction; no conditional operations; RelatedPerson and Encounter create and ' +
    'patch; DocumentReference create and update (no identifier search); Provenance create; Practitioner create; ' +
    'Consent and Patient read and search',
  types: {
    Patient: READ_SEARCH,
    Practitioner: { interactions: ['read', 'search-type', 'create'] },
    Encounter: { interactions: ['read', 'search-type', 'create', 'patch'] },
    RelatedPerson: {
      interactions: ['read', 'search-type', 'create', 'patch'],
      searchParams: ['_id', 'identifier', 'patient'],
    },
    Consent: READ_SEARCH,
    DocumentReference: {
      interactions: ['read', 'search-type', 'create', 'update'],
      searchParams: ['_id', 'patient', 'encounter', 'period', 'type', 'category', 'date'],
    },
    Provenance: { interactions: ['read', 'search-type', 'create'] },
  },
  system: ['batch'],
  conditional: false,
};

const PROFILES: Record<ProfileName, TargetProfile> = {
  full: FULL,
  'epic-like': EPIC_LIKE,
  'oracle-like': ORACLE_LIKE,
};

/**
 * The profile of that name.
 * @param name - full, epic-like or oracle-like.
 * @returns The profile definition.
 * @throws Error for an unknown name.
 */
export function getTargetProfile(name: string): TargetProfile {
  // hasOwn: a name such as "constructor" must not find Object.prototype members.
  const profile = Object.hasOwn(PROFILES, name) ? PROFILES[name as ProfileName] : undefined;
  if (!profile) {
    throw new Error(`Unknown FHIR target profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  }
  return profile;
}

/** True when the profile restricts anything (everything but `full`). */
export function isRestricted(profile: TargetProfile | undefined): profile is RestrictedProfile {
  return profile !== undefined && profile.name !== 'full';
}
