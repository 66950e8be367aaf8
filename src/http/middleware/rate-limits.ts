/**
 * Request limits (express-rate-limit, in memory: one process holds the store):
 * - per credential: at most RATE_LIMIT_PER_MINUTE requests a minute for each principal name (0 = off),
 *   429 with Retry-After and the RateLimit headers. The sync's internal credential is not limited: it
 *   is the service talking to itself and is paced by SYNC_CONCURRENCY.
 * - failed authentication per client address: after AUTH_FAILURE_LIMIT failures within
 *   AUTH_FAILURE_WINDOW_MS, every request needing a credential from that address gets 429 until the
 *   window ends. Only failures count (successful requests never do), so busy legitimate clients are
 *   never locked out by their own traffic.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import { principalOf } from '../../auth/principal.js';
import { OperationOutcomeError, rateLimited } from '../../outcomes.js';

export interface RateLimitSettings {
  /** Requests per minute per credential; 0 turns the limit off. */
  perCredentialPerMinute: number;
  /** Failed authentications per address within the window before the address is refused. */
  authFailureLimit: number;
  authFailureWindowMs: number;
}

/** The per-credential limiter (mount after authentication). */
export function credentialRateLimit(s: RateLimitSettings): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: s.perCredentialPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // The key is the credential's name, never the address; express-rate-limit's address checks do not apply.
    validate: false,
    keyGenerator: (_req, res) => `credential:${principalOf(res.locals)?.name}`,
    skip: (_req, res) => s.perCredentialPerMinute === 0 || !principalOf(res.locals) || principalOf(res.locals)?.via === 'internal',
    handler: (_req, _res, next) => next(new OperationOutcomeError(rateLimited(`Too many requests for this credential: at most ${s.perCredentialPerMinute} a minute`))),
  });
}

/** Counts failed authentications per client address, in express-rate-limit's MemoryStore. */
export class AuthFailureLimiter {
  private readonly store = new MemoryStore();

  constructor(private readonly s: Pick<RateLimitSettings, 'authFailureLimit' | 'authFailureWindowMs'>) {
    // The store's clean-up timer is unref'd: nothing to stop at shutdown.
    this.store.init({ windowMs: s.authFailureWindowMs } as Options);
  }

  private key(req: Request): string {
    return `auth-failures:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
  }

  /** An error to answer with when the address is over the limit (Retry-After set), else undefined. */
  async check(req: Request, res: Response): Promise<OperationOutcomeError | undefined> {
    const info = await this.store.get(this.key(req));
    if (!info || info.totalHits < this.s.authFailureLimit) {
      return undefined;
    }
    const seconds = Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now() + this.s.authFailureWindowMs) - Date.now()) / 1000));
    res.setHeader('Retry-After', String(seconds));
    return new OperationOutcomeError(rateLimited('Too many failed authentications from this address; try again later'));
  }

  async failed(req: Request): Promise<void> {
    await this.store.increment(this.key(req));
  }
}

