/**
 * Mount after resolveRoute. A request whose handler has not started answering within HTTP_HANDLER_TIMEOUT_MS gets 503 with
 * Retry-After, so a stuck handler never holds a client forever. The timer starts before the body is
 * read, so it also bounds a body sent too slowly (the server has no whole-request deadline by default;
 * close-unread-body.ts closes the connection after this 503). Whatever the handler sends later is
 * dropped. Routes the table marks `longRunning` (an import, a view run, a file download) have none.
 */
import type { NextFunction, Request, Response } from 'express';
import { unavailable } from '../../outcomes.js';
import { sendOutcome } from '../error-handler.js';
import type { ResolvedRoute } from './route-guard.js';

export function handlerTimeout(ms: number) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (ms <= 0 || (res.locals.route as ResolvedRoute | undefined)?.rule?.longRunning) {
      next();
      return;
    }
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        res.locals.timedOut = true;
        res.setHeader('Retry-After', '5');
        sendOutcome(res, unavailable(`The request took longer than ${ms} ms and was abandoned; try again`));
      }
    }, ms);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
