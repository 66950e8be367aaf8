/**
 * An OAuth2 client-credentials token, cached and shared by every request, renewed shortly before it
 * expires, and renewed at once when the FHIR server refuses it. One token request at a time: a burst of
 * concurrent requests (or of 401s) waits on the same one.
 */
import type { Logger } from '../../logger.js';
import { missingPermissions } from './scopes.js';
import type { AccessTokenSource, TokenState } from './source.js';
import { requestToken, TokenRequestError } from './token-endpoint.js';

export interface ClientAuthentication {
  /** Form fields and headers that authenticate the client; called per token request (fresh jti). */
  (tokenUrl: string): Promise<{ form: Record<string, string>; headers?: Record<string, string> }>;
}

export interface OAuthSourceOptions {
  /** The token endpoint (configured, or discovered on first use). */
  tokenUrl: () => Promise<string>;
  authenticate: ClientAuthentication;
  scope: string;
  /**
   * Asked for instead when the endpoint refuses `scope` as invalid_scope (our SMART v2 default on a
   * v1-only server); remembered once it worked. Unset when the operator configured the scope.
   */
  fallbackScope?: string;
  timeoutMs: number;
  logger?: Logger;
  /** Milliseconds since the epoch; tests may move time. */
  now?: () => number;
}

/** Lifetime assumed when the server does not send expires_in; a 401 renews earlier if it was shorter. */
const DEFAULT_LIFETIME_S = 300;
/** Renew this long before expiry at most, so no request leaves with a token about to lapse in flight. */
const MAX_RENEW_MARGIN_MS = 60_000;

interface Cached {
  token: string;
  renewAt: number;
  expiresAt: number;
}

/** Creates the cached client-credentials token source. */
export function createOAuthTokenSource(o: OAuthSourceOptions): AccessTokenSource {
  const now = o.now ?? Date.now;
  let cached: Cached | undefined;
  let inflight: Promise<string> | undefined;
  let scope = o.scope;
  let state: TokenState = { requestedScope: scope, missingPermissions: missingPermissions(scope) };

  async function request(url: string, asked: string): ReturnType<typeof requestToken> {
    const auth = await o.authenticate(url);
    return requestToken({ url, form: { grant_type: 'client_credentials', scope: asked, ...auth.form }, headers: auth.headers, timeoutMs: o.timeoutMs });
  }

  async function fetchToken(): Promise<string> {
    const url = await o.tokenUrl();
    let issued: Awaited<ReturnType<typeof requestToken>>;
    try {
      try {
        issued = await request(url, scope);
      } catch (err) {
        if (!(err instanceof TokenRequestError && err.oauthError === 'invalid_scope' && o.fallbackScope && scope !== o.fallbackScope)) {
          throw err;
        }
        o.logger?.warn('the token endpoint refused our SMART v2 scopes; asking with SMART v1 scopes', { tokenEndpoint: url });
        issued = await request(url, o.fallbackScope);
        scope = o.fallbackScope;
      }
    } catch (err) {
      state = { ...state, lastError: err instanceof Error ? err.message : 'token request failed' };
      throw err;
    }
    const lifetimeMs = (issued.expiresInS ?? DEFAULT_LIFETIME_S) * 1000;
    // A fifth of the lifetime, at most a minute: 3600 s tokens are renewed at 59 min, 5 s ones at 4 s.
    const margin = Math.min(MAX_RENEW_MARGIN_MS, lifetimeMs / 5);
    const t = now();
    cached = { token: issued.accessToken, renewAt: t + lifetimeMs - margin, expiresAt: t + lifetimeMs };
    // RFC 6749 5.1: a response without `scope` granted what was asked.
    const missing = missingPermissions(issued.scope ?? scope);
    state = {
      obtainedAt: new Date(t).toISOString(),
      expiresAt: new Date(t + lifetimeMs).toISOString(),
      requestedScope: scope,
      ...(issued.scope !== undefined ? { grantedScope: issued.scope } : {}),
      missingPermissions: missing,
    };
    o.logger?.info('access token obtained', { tokenEndpoint: url, expiresInS: issued.expiresInS, scope: issued.scope });
    if (missing.length > 0) {
      // Writes would be refused (403) record after record: say so now, by type and permission.
      o.logger?.warn('the access token lacks permissions the sync needs; those writes will be refused', {
        missing,
        scope: issued.scope ?? scope,
      });
    }
    return issued.accessToken;
  }

  function fetchOnce(): Promise<string> {
    inflight ??= fetchToken().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  return {
    async token() {
      const c = cached;
      if (c && now() < c.renewAt) {
        return c.token;
      }
      if (c && now() < c.expiresAt) {
        // Renewal is due but the token still works: if the endpoint is down, keep using it until it lapses.
        return fetchOnce().catch((err) => {
          o.logger?.warn('access token renewal failed; using the current token until it expires', {
            expiresInMs: c.expiresAt - now(),
          });
          if (now() < c.expiresAt) {
            return c.token;
          }
          throw err;
        });
      }
      return fetchOnce();
    },
    async renew(rejected) {
      if (inflight) {
        return inflight;
      }
      if (cached && cached.token !== rejected && now() < cached.renewAt) {
        // Another request already renewed after this one's token was refused.
        return cached.token;
      }
      cached = undefined;
      return fetchOnce();
    },
    describe() {
      return state;
    },
  };
}

