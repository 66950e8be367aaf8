/**
 * The intake gate: open while the service runs; closed when it is stopping (SIGTERM), after which
 * every request that would change data (PUT, POST, PATCH, DELETE under /api/v1, except the dry runs
 * that store nothing) answers 503 with Retry-After, so a client's retry reaches the restarted (or
 * another) instance. Reads go on until the server closes; the embedded /fhir is the sync's target,
 * not intake, and stays open so that sends in flight can finish.
 */
import type { NextFunction, Request, Response } from 'express';
import { OperationOutcomeError, unavailable } from '../../outcomes.js';

/** POSTs that compute an answer and store nothing. */
const DRY_RUNS = new Set(['/$map', '/$remap']);
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class IntakeGate {
  private closedAt: number | undefined;

  constructor(private readonly retryAfterSeconds = 10) {}

  get open(): boolean {
    return this.closedAt === undefined;
  }

  /** Stops intake; idempotent. */
  close(): void {
    this.closedAt ??= Date.now();
  }

  /** Mount on the /api/v1 router, before every route. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      if (this.open || READS.has(req.method) || DRY_RUNS.has(req.path)) {
        next();
        return;
      }
      res.setHeader('Retry-After', String(this.retryAfterSeconds));
      // Ends the connection after this answer: the client reconnects, to whichever instance is up.
      res.setHeader('Connection', 'close');
      next(new OperationOutcomeError(unavailable('The service is stopping and accepts no new data; retry after the Retry-After delay')));
    };
  }
}
