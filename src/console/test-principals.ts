/**
 * Extra credentials for tests only: a token that authenticates as a given principal (an `operator`,
 * a `privacy-officer`...), so the browser tests can sign in with a role before named credentials
 * (issue #10, API_KEYS_FILE) exist. Reachable only from code (StartOptions.testPrincipals), never
 * from the environment or a file; once issue #10 lands, tests should use its key file instead.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Principal } from '../auth/principal.js';

/** Authenticates the listed tokens as their principals; every other request goes to `fallback`. */
export function withTestPrincipals(fallback: RequestHandler, principals: ReadonlyMap<string, Principal>): RequestHandler {
  const known = [...principals].map(([token, p]) => ({ token: Buffer.from(token), p }));
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    const given = m ? Buffer.from(m[1]) : undefined;
    const hit = given && known.find((k) => k.token.length === given.length && timingSafeEqual(k.token, given));
    if (hit) {
      res.locals.principal = hit.p;
      next();
      return;
    }
    fallback(req, res, next);
  };
}
