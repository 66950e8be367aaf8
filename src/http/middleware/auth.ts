/**
 * Bearer-token authentication for every API and FHIR request. Tokens are compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { LOCAL_ADMIN } from '../../auth/principal.js';
import { OperationOutcomeError, unauthenticated } from '../../outcomes.js';

export function requireBearer(tokens: readonly string[]) {
  const accepted = tokens.map((t) => Buffer.from(t));
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const given = m ? Buffer.from(m[1]) : undefined;
    const ok = given !== undefined && accepted.some((t) => t.length === given.length && timingSafeEqual(t, given));
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="collateral-fhir"');
      next(new OperationOutcomeError(unauthenticated(m ? 'The bearer token is not valid' : 'Authorization: Bearer <token> is required')));
      return;
    }
    // Until named credentials with roles exist every token is the local admin (see auth/principal.ts).
    res.locals.principal = LOCAL_ADMIN;
    next();
  };
}
