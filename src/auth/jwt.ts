/**
 * JWT bearer tokens from a hospital's identity provider (optional): verified against the issuer's
 * JWKS (AUTH_JWKS_URL, fetched and cached by jose), its `iss` (AUTH_ISSUER) and `aud` (AUTH_AUDIENCE),
 * with asymmetric algorithms only; the roles come from one claim (AUTH_ROLES_CLAIM, default `roles`;
 * a dotted path such as `realm_access.roles` reaches into an object), whose values are our role names
 * or are mapped to them by AUTH_ROLE_MAP (`idp-value=role,...`). Values that map to no role are ignored;
 * a token with no role is authenticated but may call only routes open to any credential.
 * See: https://www.rfc-editor.org/rfc/rfc9068 (JWT profile for OAuth 2.0 access tokens).
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Principal, Role } from './principal.js';
import { isAssignableRole } from './principal.js';

export interface JwtSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  rolesClaim: string;
  /** The claim naming the caller (default `sub`); the principal is `jwt:<value>`. */
  nameClaim: string;
  /** IdP claim value -> our role. */
  roleMap: Record<string, Role>;
}

/** Why a JWT was refused: `invalid` (401) or `unavailable` (the JWKS could not be fetched: 503). */
export class JwtRefused extends Error {
  constructor(
    readonly reason: 'invalid' | 'unavailable',
    readonly code: string
  ) {
    super(`JWT ${reason} (${code})`);
  }
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const INVALID_CODES = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/** A compact JWS has three base64url parts; our API tokens never do. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** Creates the verifier: token -> Principal, or throws JwtRefused. */
export function createJwtVerifier(s: JwtSettings): (token: string) => Promise<Principal> {
  const jwks = createRemoteJWKSet(new URL(s.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: s.issuer, audience: s.audience, algorithms: ASYMMETRIC }));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_UNKNOWN';
      throw new JwtRefused(INVALID_CODES.has(code) ? 'invalid' : 'unavailable', code);
    }
    const who = claimAt(payload, s.nameClaim);
    if (typeof who !== 'string' || who === '') {
      throw new JwtRefused('invalid', 'ERR_NO_NAME_CLAIM');
    }
    return Object.freeze({ name: `jwt:${who}`, roles: Object.freeze(rolesFrom(claimAt(payload, s.rolesClaim), s.roleMap)), via: 'jwt' as const });
  };
}

/** Our roles from a claim value: an array of strings, or one space-separated string (as `scope`). */
export function rolesFrom(value: unknown, roleMap: Record<string, Role>): Role[] {
  const values = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/\s+/) : [];
  const roles = new Set<Role>();
  for (const v of values) {
    if (typeof v !== 'string') {
      continue;
    }
    const mapped = Object.hasOwn(roleMap, v) ? roleMap[v] : isAssignableRole(v) ? v : undefined;
    if (mapped) {
      roles.add(mapped);
    }
  }
  return [...roles];
}

/** A claim by name (namespaced names such as `https://idp.example/roles` are taken whole), else by dotted path. */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) {
    return payload[path];
  }
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (!at || typeof at !== 'object' || !Object.hasOwn(at, part)) {
      return undefined;
    }
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
