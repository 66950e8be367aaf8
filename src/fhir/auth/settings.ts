/**
 * The FHIR_AUTH_* variables: how the sync authenticates to an external FHIR server. Read by loadConfig
 * (src/config.ts), which merges the problems found here into its single start-up error. Files are not
 * read here: the private key is loaded (and checked) by keys.ts when the service starts.
 */
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_SCOPE_V2 } from './scopes.js';

export type FhirAuthType = 'none' | 'bearer' | 'client-credentials' | 'smart-backend';
/** The two algorithms SMART Backend Services requires servers to support. */
export type SigningAlg = 'RS384' | 'ES384';
/** How a client secret reaches the token endpoint (RFC 6749 section 2.3.1). */
export type SecretMethod = 'basic' | 'post';

export interface FhirAuthSettings {
  type: FhirAuthType;
  /** bearer: the static token. */
  token?: string;
  /** OAuth2 token endpoint; undefined = discover it from `<FHIR_BASE_URL>/.well-known/smart-configuration`. */
  tokenUrl?: string;
  clientId?: string;
  /** client-credentials only. */
  clientSecret?: string;
  secretMethod: SecretMethod;
  /** smart-backend only: absolute path of the private key (PEM or JWK). */
  privateKeyFile?: string;
  /** The `kid` of the key; undefined = the key's own kid (JWK) or its RFC 7638 thumbprint. */
  keyId?: string;
  /** undefined = follow the key: RSA -> RS384, P-384 -> ES384. */
  alg?: SigningAlg;
  /** The scopes requested (space-separated). */
  scope: string;
  /** FHIR_AUTH_SCOPE was set: ask for exactly that, with no fallback to SMART v1 scopes. */
  scopeConfigured?: boolean;
}

type Env = Record<string, string | undefined>;

/** SMART v2 per-type scopes for what the sync does (scopes.ts); v1 scopes are tried when a server refuses them. */
export const DEFAULT_SCOPE = DEFAULT_SCOPE_V2;

const TYPES: readonly FhirAuthType[] = ['none', 'bearer', 'client-credentials', 'smart-backend'];

/** Which variables each type reads; setting one that the type ignores is reported (a likely mistake). */
const USED_BY: Record<FhirAuthType, readonly string[]> = {
  none: [],
  bearer: ['FHIR_AUTH_TOKEN'],
  'client-credentials': [
    'FHIR_AUTH_TOKEN_URL',
    'FHIR_AUTH_CLIENT_ID',
    'FHIR_AUTH_CLIENT_SECRET',
    'FHIR_AUTH_SECRET_METHOD',
    'FHIR_AUTH_SCOPE',
  ],
  'smart-backend': [
    'FHIR_AUTH_TOKEN_URL',
    'FHIR_AUTH_CLIENT_ID',
    'FHIR_AUTH_PRIVATE_KEY_FILE',
    'FHIR_AUTH_KEY_ID',
    'FHIR_AUTH_ALG',
    'FHIR_AUTH_SCOPE',
  ],
};
const ALL_VARS = [...new Set(Object.values(USED_BY).flat())];

/**
 * True when a URL may carry credentials: https, or http to this machine only (tests, a local proxy).
 * Secrets and tokens sent over plain http to another host can be read on the way.
 */
export function isSafeForCredentials(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'https:' || (url.protocol === 'http:' && (host === 'localhost' || host === '::1' || host.startsWith('127.')));
}

/**
 * Reads and checks the FHIR_AUTH_* variables.
 * @param env - the environment.
 * @param fhirBaseUrl - the validated FHIR_BASE_URL (undefined = the embedded server).
 * @returns the settings and every problem found, as plain sentences.
 */
export function readFhirAuthSettings(env: Env, fhirBaseUrl: string | undefined): { settings: FhirAuthSettings; problems: string[] } {
  const problems: string[] = [];
  const get = (key: string): string | undefined => (env[key] === undefined || env[key] === '' ? undefined : env[key]);
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const raw = get(key);
    if (raw !== undefined && !(allowed as readonly string[]).includes(raw)) {
      problems.push(`${key} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return undefined;
    }
    return raw as T | undefined;
  };

  const type = oneOf('FHIR_AUTH_TYPE', TYPES) ?? (get('FHIR_AUTH_TOKEN') ? 'bearer' : 'none');
  const need = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined) {
      problems.push(`${key} is required when FHIR_AUTH_TYPE is ${type}`);
    }
    return v;
  };

  for (const key of ALL_VARS) {
    if (get(key) !== undefined && !USED_BY[type].includes(key)) {
      problems.push(`${key} is set but not used when FHIR_AUTH_TYPE is ${type}`);
    }
  }
  if (type !== 'none' && !fhirBaseUrl) {
    problems.push(`FHIR_AUTH_TYPE=${type} needs FHIR_BASE_URL (the embedded server uses the API token itself)`);
  }
  if (type !== 'none' && fhirBaseUrl && !isSafeForCredentials(new URL(fhirBaseUrl))) {
    problems.push('FHIR_BASE_URL must use https when FHIR_AUTH_TYPE sends credentials (http only to localhost)');
  }

  const settings: FhirAuthSettings = { type, secretMethod: 'basic', scope: DEFAULT_SCOPE };
  if (type === 'bearer') {
    settings.token = need('FHIR_AUTH_TOKEN');
  }
  if (type === 'client-credentials' || type === 'smart-backend') {
    settings.clientId = need('FHIR_AUTH_CLIENT_ID');
    settings.tokenUrl = tokenUrl(get('FHIR_AUTH_TOKEN_URL'), problems);
    const configured = get('FHIR_AUTH_SCOPE')?.trim().replace(/\s+/g, ' ');
    settings.scope = configured || DEFAULT_SCOPE;
    settings.scopeConfigured = !!configured;
  }
  if (type === 'client-credentials') {
    settings.clientSecret = need('FHIR_AUTH_CLIENT_SECRET');
    settings.secretMethod = oneOf('FHIR_AUTH_SECRET_METHOD', ['basic', 'post'] as const) ?? 'basic';
  }
  if (type === 'smart-backend') {
    const file = need('FHIR_AUTH_PRIVATE_KEY_FILE');
    settings.privateKeyFile = file && (isAbsolute(file) ? file : resolve(process.cwd(), file));
    settings.keyId = get('FHIR_AUTH_KEY_ID');
    settings.alg = oneOf('FHIR_AUTH_ALG', ['RS384', 'ES384'] as const);
  }
  return { settings: Object.freeze(settings), problems };
}

function tokenUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`FHIR_AUTH_TOKEN_URL must be an absolute https URL (got "${raw}")`);
    return undefined;
  }
  if (!isSafeForCredentials(url)) {
    problems.push(`FHIR_AUTH_TOKEN_URL must use https (http only to localhost) (got "${raw}")`);
    return undefined;
  }
  // Used verbatim: it is also the `aud` of our client assertions, which servers compare exactly.
  return raw;
}
