/**
 * Gives each request an id (the caller's X-Request-Id when it is a sane token, else a new UUID), a child
 * logger carrying it, and an access log line on finish. The line names the route by its pattern from
 * the route table (`GET /api/v1/clients/{mrn}/disclosures`), never the path itself: paths carry MRNs and
 * record ids. Query strings and bodies are never logged.
 *
 * At LOG_LEVEL=debug a second line adds who called (the credential's name and how it authenticated),
 * the body sizes, the time to authorize and the time to the first byte, still without any identifier.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { principalOf } from '../../auth/principal.js';
import type { Logger } from '../../logger.js';
import type { ResolvedRoute } from './route-guard.js';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Milliseconds (to the microsecond) since a process.hrtime.bigint() reading. */
export function elapsedMs(since: bigint): number {
  return Number((process.hrtime.bigint() - since) / 1000n) / 1000;
}

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.header('x-request-id');
    const requestId = given && SAFE_ID.test(given) ? given : randomUUID();
    const started = process.hrtime.bigint();
    let firstByteMs: number | undefined;
    const log = logger.child({ requestId });
    res.locals.requestId = requestId;
    res.locals.logger = log;
    res.locals.startedAt = started;
    res.setHeader('X-Request-Id', requestId);
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: Parameters<Response['writeHead']>) {
      firstByteMs ??= elapsedMs(started);
      return writeHead.apply(this, args);
    } as Response['writeHead'];
    res.on('finish', () => {
      const route = (res.locals.route as ResolvedRoute | undefined)?.label ?? 'unlisted';
      const ms = Math.round(elapsedMs(started));
      log.info('http', { method: req.method, route, status: res.statusCode, ms });
      if (log.isDebugEnabled()) {
        const principal = principalOf(res.locals);
        log.debug('http detail', {
          method: req.method,
          route,
          status: res.statusCode,
          principal: principal?.name,
          via: principal?.via,
          roles: principal?.roles,
          authFailure: res.locals.authFailure,
          masked: res.locals.maskPhi || undefined,
          requestBytes: Number(req.headers['content-length'] ?? 0) || undefined,
          responseBytes: Number(res.getHeader('content-length') ?? 0) || undefined,
          authorizedMs: res.locals.authorizedMs,
          firstByteMs,
          ms: elapsedMs(started),
        });
      }
    });
    next();
  };
}
