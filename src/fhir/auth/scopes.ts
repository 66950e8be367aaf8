/**
 * The OAuth2 scopes the sync needs on a target, the default scope strings we ask for, and a check of a
 * granted scope against the needs, so an operator learns at once (not from a dead-letter list) that a
 * token cannot write what we write.
 *
 * Scope grammar: SMART App Launch v2 `system/Type.cruds` (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)
 * and v1 `system/Type.read|write|*`; `*` as the type is any type.
 */

/** One SMART v2 permission letter: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

const WORDS: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/**
 * What the sync does per resource type: Patient and the therapist's Practitioner are looked up (read,
 * search); a clinician participant's Practitioner is created when none exists; our own resources are
 * created, searched by identifier, read again after a conflict and updated (PUT or PATCH); Provenance is
 * created once per write and searched to avoid a second one.
 */
export const SYNC_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = Object.freeze({
  Patient: ['r', 's'],
  Practitioner: ['c', 'r', 's'],
  RelatedPerson: ['c', 'r', 'u', 's'],
  Consent: ['c', 'r', 'u', 's'],
  Encounter: ['c', 'r', 'u', 's'],
  DocumentReference: ['c', 'r', 'u', 's'],
  Provenance: ['c', 'r', 's'],
});

/**
 * SMART v2, one scope per type, in the order above. Per-type rather than `system/*.rs system/*.cu`:
 * some servers (medplum 4.5) apply only the first wildcard scope of a token and grant read-only access.
 */
export const DEFAULT_SCOPE_V2 = Object.entries(SYNC_PERMISSIONS)
  .map(([type, perms]) => `system/${type}.${(['c', 'r', 'u', 'd', 's'] as Permission[]).filter((p) => perms.includes(p)).join('')}`)
  .join(' ');

/** SMART v1, for servers that refuse v2 scopes (invalid_scope): `.read` and, where we write, `.write`. */
export const DEFAULT_SCOPE_V1 = Object.entries(SYNC_PERMISSIONS)
  .flatMap(([type, perms]) => [`system/${type}.read`, ...(perms.some((p) => p === 'c' || p === 'u') ? [`system/${type}.write`] : [])])
  .join(' ');

/** The permissions one scope grants on a type, or undefined when it says nothing of that type. */
function granted(scope: string, type: string): Set<Permission> | undefined {
  const m = /^system\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/.exec(scope);
  if (!m || (m[1] !== '*' && m[1] !== type)) {
    return undefined;
  }
  const access = m[2];
  if (access === 'read') {
    return new Set(['r', 's']);
  }
  if (access === 'write') {
    return new Set(['c', 'u', 'd']);
  }
  if (access === '*') {
    return new Set(['c', 'r', 'u', 'd', 's']);
  }
  // v2 letters in order; anything else is not a scope we understand.
  return /^c?r?u?d?s?$/.test(access) ? new Set(access.split('') as Permission[]) : undefined;
}

/**
 * What the sync needs and a scope string does not grant, in words, e.g. `["RelatedPerson: create, update"]`.
 * Empty when everything is granted.
 */
export function missingPermissions(scope: string, needs: Readonly<Record<string, readonly Permission[]>> = SYNC_PERMISSIONS): string[] {
  const scopes = scope.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (const [type, perms] of Object.entries(needs)) {
    const have = new Set<Permission>();
    for (const s of scopes) {
      granted(s, type)?.forEach((p) => have.add(p));
    }
    const lacking = perms.filter((p) => !have.has(p));
    if (lacking.length > 0) {
      out.push(`${type}: ${lacking.map((p) => WORDS[p]).join(', ')}`);
    }
  }
  return out;
}
