/**
 * An error answered before the request's body was read (401, 403, 413, 415, 429, a 503 handler
 * timeout...) closes the connection after the answer. Without this Node reads and discards the rest of
 * the body on the open connection, so a client trickling a large declared body could hold it for as
 * long as it keeps sending: the server has no deadline on a whole request (import jobs stream for as
 * long as their file takes; docs/security.md section 7). A 2xx answered early is left alone: an import
 * job answers 202 at once and reads its body afterwards.
 */
import type { NextFunction, Request, Response } from 'express';

export function closeUnreadBody(req: Request, res: Response, next: NextFunction): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: Parameters<Response['writeHead']>) {
    const status = typeof args[0] === 'number' ? args[0] : res.statusCode;
    if (status >= 400 && !req.complete) {
      res.setHeader('Connection', 'close');
    }
    return writeHead.apply(this, args);
  } as Response['writeHead'];
  next();
}
