/**
 * Who is calling: the authenticated credential's name and roles. The auth middleware puts one on
 * `res.locals.principal` for every authenticated request; routes and audits read it from there.
 *
 * Roles (issue #10): `source` writes records; `operator` runs the sync (PHI masked); `analyst` reads
 * de-identified analytics only; `fhir-reader` reads and searches /fhir (audited); `privacy-officer`
 * reads the accounting of disclosures, the access audit and identified exports; `admin` does everything.
 * What each route requires is declared once, in `route-table.ts`.
 */
export const ROLES = ['source', 'operator', 'analyst', 'fhir-reader', 'privacy-officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Roles no key file, token or identity provider can grant: held only by credentials the service makes
 * for itself. `fhir-sync` is the sync worker reaching the embedded FHIR server (internal-credential.ts):
 * read and search, and writes of the resource types it maps to, nothing else.
 */
export const INTERNAL_ROLES = ['fhir-sync'] as const;
export type InternalRole = (typeof INTERNAL_ROLES)[number];
export type AnyRole = Role | InternalRole;

/** How the caller proved who it is (logged at debug, never the secret). */
export type AuthMethod = 'api-token' | 'api-key' | 'jwt' | 'internal';

export interface Principal {
  /** The credential's name (never the token): logged and audited as "who". */
  name: string;
  roles: readonly AnyRole[];
  /** How it authenticated; absent on principals built by hand (tests). */
  via?: AuthMethod;
}

/** The single-user local setup: API_TOKENS and the generated first-start token act as admin. */
export const LOCAL_ADMIN: Principal = Object.freeze({ name: 'local-admin', roles: Object.freeze(['admin'] as Role[]), via: 'api-token' as const });

/** True when the principal holds the role, or is admin (admin may do everything). */
export function hasRole(p: Principal | undefined, role: AnyRole): boolean {
  return !!p && (p.roles.includes('admin') || p.roles.includes(role));
}

/** The principal of a request (express `res.locals`), when authenticated. */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}

/** True for a role a key file, a token or a JWT may grant. */
export function isAssignableRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
