/**
 * Who may call the console's API routes and what they see. Until the route table of issue #10 lands
 * these routes check roles themselves (the same rule: admin may do everything); afterwards both agree.
 *
 * Identified data (names, contact details, note text, MRNs) is for `admin`, `privacy-officer` and
 * `source` (the system the data came from). Everyone else, `operator` first, sees it masked
 * (phi-mask.ts), decided here on the server, never only in the page.
 */
import type { NextFunction, Request, Response } from 'express';
import { principalOf, type Principal, type Role } from '../auth/principal.js';
import { accessDenied, OperationOutcomeError } from '../outcomes.js';

const IDENTIFIED: readonly string[] = ['admin', 'privacy-officer', 'source'];

/** Refuses (403) a caller holding none of the roles (admin always passes). */
export function requireRoles(...roles: Role[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const p = principalOf(res.locals);
    if (p && (p.roles.includes('admin') || p.roles.some((r) => (roles as string[]).includes(r)))) {
      next();
      return;
    }
    const needed = [...roles, 'admin'].join(', ').replace(/, (?=[^,]*$)/, ' or ');
    next(new OperationOutcomeError(accessDenied(`This needs the role ${needed}; the credential "${p?.name ?? ''}" has ${p?.roles.join(', ') || 'no role'}`)));
  };
}

/** True when the caller sees identified data; false means every answer is masked. */
export function seesIdentified(p: Principal | undefined, locals: Record<string, unknown> = {}): boolean {
  // The route guard of issue #10 may decide masking for a route (res.locals.maskPhi); it only ever adds masking.
  if (locals.maskPhi === true) {
    return false;
  }
  return !!p && p.roles.some((r) => IDENTIFIED.includes(r));
}

/** seesIdentified for a request. */
export function identifiedFor(res: Response): boolean {
  return seesIdentified(principalOf(res.locals), res.locals);
}
