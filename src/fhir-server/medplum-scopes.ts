/**
 * What a token may do on the `medplum-like` server, decided as Medplum 4.5 decides it
 * (packages/server/src/fhir/smart.ts `applySmartScopes`, accesspolicy.ts `buildAccessPolicy`):
 *
 * 1. A client's membership without an access policy has the policy `[{ resourceType: '*' }]`.
 * 2. The token's SMART scopes (`system|user|patient/Type.cruds`, v1 `.read/.write/.*`) are intersected
 *    with it. For the policy's `*` entry medplum looks for a scope of that type, then for a scope of
 *    type `*`, and takes the FIRST one it finds: with `system/*.rs system/*.cu` only `system/*.rs`
 *    counts, and the token is read-only (every write 403), although the token response echoes both.
 *    With no wildcard scope at all, every per-type scope becomes its own entry, so
 *    `system/RelatedPerson.cru system/Patient.rs` works as written.
 * 3. An entry whose letters are only `r`/`s` is read-only; any other letter grants every write (medplum
 *    4.5 does not tell create from update from delete).
 *
 * Scope criteria (`?category=…`) and the patient/user compartments are not reproduced.
 */
import { OperationOutcomeError, forbidden } from '@medplum/core';

/** One entry of the resulting access policy. */
export interface AccessEntry {
  resourceType: string;
  readonly: boolean;
}

/** What a request may do; `full` when the token carries no SMART scope at all (or there is no token). */
export type MedplumAccess = { full: true } | { full: false; entries: readonly AccessEntry[] };

export const FULL_ACCESS: MedplumAccess = { full: true };

interface SmartScope {
  resourceType: string;
  /** Normalised to v2 letters. */
  letters: string;
}

const SMART_SCOPE = /^(patient|user|system)\/(\w+|\*)\.(read|write|c?r?u?d?s?|\*)$/;
const READ_ONLY = /^[rs]+$/;
/** Types medplum lets every login read (addDefaultResourceTypes). */
const DEFAULT_READABLE = ['SearchParameter', 'StructureDefinition'];

function parseScopes(scope: string): SmartScope[] {
  const out: SmartScope[] = [];
  for (const term of scope.split(' ')) {
    const m = SMART_SCOPE.exec(term.split('?', 1)[0]);
    if (m) {
      out.push({ resourceType: m[2], letters: normalize(m[3]) });
    }
  }
  return out;
}

function normalize(access: string): string {
  switch (access) {
    case '*':
      return 'cruds';
    case 'read':
      return 'rs';
    case 'write':
      return 'cud';
    default:
      return access;
  }
}

/**
 * The access a token's scope grants, with medplum's first-wildcard-scope rule.
 * @param scope - The scope string the token was issued for; undefined or empty for none.
 * @returns Full access when the scope holds no SMART scope, else the policy entries.
 */
export function accessForScope(scope: string | undefined): MedplumAccess {
  const scopes = parseScopes(scope ?? '');
  if (scopes.length === 0) {
    return FULL_ACCESS;
  }
  const wildcard = scopes.find((s) => s.resourceType === '*');
  const chosen = wildcard ? [wildcard] : scopes;
  const entries: AccessEntry[] = chosen.map((s) => ({ resourceType: s.resourceType, readonly: READ_ONLY.test(s.letters) }));
  for (const resourceType of DEFAULT_READABLE) {
    if (!entries.some((e) => e.resourceType === resourceType)) {
      entries.push({ resourceType, readonly: true });
    }
  }
  return { full: false, entries };
}

function matching(access: MedplumAccess, resourceType: string): AccessEntry[] {
  return access.full ? [] : access.entries.filter((e) => e.resourceType === '*' || e.resourceType === resourceType);
}

/** True when the access lets a request read or search `resourceType`. */
export function canRead(access: MedplumAccess, resourceType: string): boolean {
  return access.full || matching(access, resourceType).length > 0;
}

/** True when the access lets a request create, update, patch or delete `resourceType`. */
export function canWrite(access: MedplumAccess, resourceType: string): boolean {
  return access.full || matching(access, resourceType).some((e) => !e.readonly);
}

/**
 * Throws medplum's 403 when the access does not allow the operation.
 * @param access - The request's access.
 * @param resourceType - The type read or written.
 * @param write - A write (create, update, patch, delete) rather than a read or search.
 * @throws OperationOutcomeError `forbidden` (403).
 */
export function assertAllowed(access: MedplumAccess, resourceType: string, write: boolean): void {
  if (!(write ? canWrite(access, resourceType) : canRead(access, resourceType))) {
    throw new OperationOutcomeError(forbidden);
  }
}
