/**
 * Bearer token -> Principal. In order: the service's internal credentials (the sync), the admin tokens
 * (API_TOKENS or the generated DATA_DIR/api-token: the single-user local setup, role admin), the named
 * keys of API_KEYS_FILE (by the SHA-256 of the token), and, when configured, a JWT from the identity
 * provider. Secrets are compared by their SHA-256 in constant time; nothing here logs a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { InternalCredential } from './internal-credential.js';
import { JwtRefused, looksLikeJwt } from './jwt.js';
import type { KeyRegistry } from './key-registry.js';
import { LOCAL_ADMIN, type Principal } from './principal.js';

export interface AuthenticatorOptions {
  /** Tokens acting as `admin` (LOCAL_ADMIN). */
  adminTokens: readonly string[];
  keys?: KeyRegistry;
  jwt?: (token: string) => Promise<Principal>;
  internal?: readonly InternalCredential[];
}

export type AuthResult =
  | { ok: true; principal: Principal }
  /** 401: no or a wrong credential; 503: it could not be checked now (the IdP's keys are out of reach). */
  | { ok: false; status: 401 | 503; message: string; code: string };

export type Authenticator = (token: string | undefined) => Promise<AuthResult>;

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const fixed: { hash: Buffer; principal: Principal }[] = [
    ...(o.internal ?? []).map((c) => ({ hash: digest(c.token), principal: c.principal })),
    ...o.adminTokens.map((t) => ({ hash: digest(t), principal: LOCAL_ADMIN })),
  ];
  return async (token) => {
    if (!token) {
      return { ok: false, status: 401, message: 'Authorization: Bearer <token> is required', code: 'missing' };
    }
    const hash = digest(token);
    // Every fixed credential is compared (no early exit), so the time taken says nothing about which matched.
    let found: Principal | undefined;
    for (const f of fixed) {
      if (timingSafeEqual(f.hash, hash) && !found) {
        found = f.principal;
      }
    }
    found ??= o.keys?.lookup(hash.toString('hex'));
    if (found) {
      return { ok: true, principal: found };
    }
    if (o.jwt && looksLikeJwt(token)) {
      try {
        return { ok: true, principal: await o.jwt(token) };
      } catch (err) {
        if (err instanceof JwtRefused) {
          return err.reason === 'unavailable'
            ? { ok: false, status: 503, message: 'The identity provider\'s keys cannot be fetched now; try again later', code: err.code }
            : { ok: false, status: 401, message: 'The bearer token is not valid', code: err.code };
        }
        throw err;
      }
    }
    return { ok: false, status: 401, message: 'The bearer token is not valid', code: 'unknown-token' };
  };
}
