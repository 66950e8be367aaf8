/**
 * Who is calling: the authenticated credential's name and roles. The auth middleware puts one on
 * `res.locals.principal` for every authenticated request; routes and audits read it from there.
 *
 * Roles (issue #10): `source` writes records; `operator` runs the sync (PHI masked); `analyst` reads
 * de-identified analytics only; `fhir-reader` reads and searches /fhir (audited); `privacy-officer`
 * reads the accounting of disclosures, the access audit and identified exports; `admin` does everything.
 */
export const ROLES = ['source', 'operator', 'analyst', 'fhir-reader', 'privacy-officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The credential's name (never the token): logged and audited as "who". */
  name: string;
  roles: readonly Role[];
}

/** The single-user local setup: API_TOKENS and the generated first-start token act as admin. */
export const LOCAL_ADMIN: Principal = Object.freeze({ name: 'local-admin', roles: Object.freeze(['admin'] as Role[]) });

/** True when the principal holds the role, or is admin (admin may do everything). */
export function hasRole(p: Principal | undefined, role: Role): boolean {
  return !!p && (p.roles.includes('admin') || p.roles.includes(role));
}

/** The principal of a request (express `res.locals`), when authenticated. */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}
