/**
 * The variables of access control and limits (issue #10), read by loadConfig (src/config.ts), which
 * merges the problems found here into its single start-up error. The keys file itself is read (and
 * schema-checked) when the service starts, by key-registry.ts.
 */
import { isAbsolute, resolve } from 'node:path';
import type { JwtSettings } from './jwt.js';
import { isAssignableRole, ROLES, type Role } from './principal.js';

export interface SecuritySettings {
  /** API_KEYS_FILE, absolute; undefined = no named keys (API_TOKENS or the generated token only). */
  keysFile?: string;
  /** AUTH_JWKS_URL + AUTH_ISSUER + AUTH_AUDIENCE; undefined = no JWTs accepted. */
  jwt?: JwtSettings;
  limits: {
    /** RATE_LIMIT_PER_MINUTE per credential; 0 = off. */
    perCredentialPerMinute: number;
    /** AUTH_FAILURE_LIMIT failed authentications per address within AUTH_FAILURE_WINDOW_MS. */
    authFailureLimit: number;
    authFailureWindowMs: number;
  };
  http: {
    /**
     * TRUST_PROXY: express's `trust proxy` (false, loopback, a hop count, or addresses/CIDRs). Behind a
     * reverse proxy set it, or every client shares the proxy's address for the failed-auth limit.
     */
    trustProxy: boolean | number | string;
    /** HTTP_HANDLER_TIMEOUT_MS: a handler that has not answered by then gets 503; 0 = off. */
    handlerTimeoutMs: number;
    /**
     * HTTP_REQUEST_TIMEOUT_MS: Node's server.requestTimeout (the whole request received); 0 = none (the
     * default: an import job's upload takes as long as its file; docs/security.md section 7).
     */
    requestTimeoutMs: number;
    /** HTTP_HEADERS_TIMEOUT_MS: Node's server.headersTimeout. */
    headersTimeoutMs: number;
  };
  accessAudit: {
    /** ACCESS_AUDIT_RETENTION_DAYS (default 6 years, the HIPAA documentation period). */
    retentionDays: number;
    /** ACCESS_AUDIT_FLUSH_MS: how long an entry may wait in memory before it is written. */
    flushMs: number;
  };
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, dflt: number, min: number, max: number, problems: string[]): number {
  const raw = env[key];
  if (raw === undefined || raw === '') {
    return dflt;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return dflt;
  }
  return n;
}

function readJwt(env: Env, problems: string[]): JwtSettings | undefined {
  const keys = ['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'] as const;
  const given = keys.filter((k) => env[k]);
  if (given.length === 0) {
    for (const k of ['AUTH_ROLES_CLAIM', 'AUTH_NAME_CLAIM', 'AUTH_ROLE_MAP']) {
      if (env[k]) {
        problems.push(`${k} applies to JWT bearer tokens only; set AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE too, or unset it`);
      }
    }
    return undefined;
  }
  if (given.length < keys.length) {
    problems.push(`JWT bearer tokens need all of ${keys.join(', ')} (missing: ${keys.filter((k) => !env[k]).join(', ')})`);
    return undefined;
  }
  const jwksUrl = env.AUTH_JWKS_URL as string;
  try {
    const u = new URL(jwksUrl);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
      problems.push('AUTH_JWKS_URL must be an https URL (http only on localhost)');
    }
  } catch {
    problems.push(`AUTH_JWKS_URL must be an absolute URL (got "${jwksUrl}")`);
  }
  const roleMap: Record<string, Role> = {};
  for (const pair of (env.AUTH_ROLE_MAP ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.lastIndexOf('=');
    const from = pair.slice(0, eq).trim();
    const to = pair.slice(eq + 1).trim();
    if (eq <= 0 || !isAssignableRole(to)) {
      problems.push(`AUTH_ROLE_MAP must be comma-separated idp-value=role pairs, each role one of ${ROLES.join(', ')} (problem in "${pair}")`);
      continue;
    }
    roleMap[from] = to;
  }
  return {
    jwksUrl,
    issuer: env.AUTH_ISSUER as string,
    audience: env.AUTH_AUDIENCE as string,
    rolesClaim: env.AUTH_ROLES_CLAIM || 'roles',
    nameClaim: env.AUTH_NAME_CLAIM || 'sub',
    roleMap,
  };
}

function readTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string {
  if (raw === undefined || raw === '' || raw === 'false') {
    return false;
  }
  if (raw === 'true') {
    return true;
  }
  if (/^\d{1,2}$/.test(raw)) {
    return Number(raw);
  }
  if (!/^[A-Za-z0-9.:/, ]+$/.test(raw)) {
    problems.push(`TRUST_PROXY must be true, false, a hop count, or comma-separated addresses, CIDRs or loopback/linklocal/uniquelocal (got "${raw}")`);
    return false;
  }
  return raw;
}

/** Reads the security variables; problems are returned for loadConfig's one error. */
export function readSecuritySettings(env: Env): { settings: SecuritySettings; problems: string[] } {
  const problems: string[] = [];
  const keysRaw = env.API_KEYS_FILE;
  const settings: SecuritySettings = {
    ...(keysRaw ? { keysFile: isAbsolute(keysRaw) ? keysRaw : resolve(process.cwd(), keysRaw) } : {}),
    jwt: readJwt(env, problems),
    limits: {
      perCredentialPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000, 0, 10_000_000, problems),
      authFailureLimit: int(env, 'AUTH_FAILURE_LIMIT', 20, 1, 100_000, problems),
      authFailureWindowMs: int(env, 'AUTH_FAILURE_WINDOW_MS', 15 * 60_000, 1000, 86_400_000, problems),
    },
    http: {
      trustProxy: readTrustProxy(env.TRUST_PROXY, problems),
      handlerTimeoutMs: int(env, 'HTTP_HANDLER_TIMEOUT_MS', 120_000, 0, 3_600_000, problems),
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 0, 0, 86_400_000, problems),
      headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 30_000, 1000, 600_000, problems),
    },
    accessAudit: {
      retentionDays: int(env, 'ACCESS_AUDIT_RETENTION_DAYS', 6 * 365, 1, 36_500, problems),
      flushMs: int(env, 'ACCESS_AUDIT_FLUSH_MS', 200, 10, 10_000, problems),
    },
  };
  if (!settings.jwt) {
    delete settings.jwt;
  }
  if (settings.http.requestTimeoutMs > 0 && settings.http.headersTimeoutMs > settings.http.requestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not be larger than HTTP_REQUEST_TIMEOUT_MS');
  }
  return { settings, problems };
}
