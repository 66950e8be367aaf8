/**
 * Bearer authentication for every route the table does not mark public: the token becomes a Principal
 * on res.locals.principal (auth/authenticator.ts), or the request ends with 401 (WWW-Authenticate) or,
 * when an identity provider's keys are out of reach, 503. Failed attempts count against the caller's
 * address (rate-limits.ts): past the limit every request from it gets 429 until the window ends, so a
 * token cannot be guessed by volume.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Authenticator } from '../../auth/authenticator.js';
import { OperationOutcomeError, unauthenticated, unavailable } from '../../outcomes.js';
import type { AuthFailureLimiter } from './rate-limits.js';
import { isPublicRoute } from './route-guard.js';

export function authenticate(auth: Authenticator, failures: AuthFailureLimiter) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (isPublicRoute(res)) {
      next();
      return;
    }
    const blocked = await failures.check(req, res);
    if (blocked) {
      next(blocked);
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    const result = await auth(m?.[1]);
    if (result.ok) {
      res.locals.principal = result.principal;
      next();
      return;
    }
    if (result.status === 503) {
      res.setHeader('Retry-After', '30');
      next(new OperationOutcomeError(unavailable(result.message)));
      return;
    }
    await failures.failed(req);
    res.locals.authFailure = result.code;
    res.setHeader('WWW-Authenticate', 'Bearer realm="collateral-fhir"');
    next(new OperationOutcomeError(unauthenticated(m ? result.message : 'Authorization: Bearer <token> is required')));
  };
}
