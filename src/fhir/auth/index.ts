/**
 * Builds the target's token source from the configuration: none, a static bearer token, or an OAuth2
 * client-credentials token (secret or SMART Backend Services private_key_jwt). Loads and checks the
 * signing key at start, so a bad key stops the start instead of failing every sync later.
 */
import type { Logger } from '../../logger.js';
import { privateKeyJwtAuth, clientSecretAuth } from './client-auth.js';
import { discoverTokenUrl } from './discovery.js';
import { jwksOf, loadSigningKey, type Jwks } from './keys.js';
import { createOAuthTokenSource, type ClientAuthentication } from './oauth-source.js';
import { DEFAULT_SCOPE_V1 } from './scopes.js';
import type { FhirAuthSettings } from './settings.js';
import { staticTokenSource, type AccessTokenSource } from './source.js';

export type { AccessTokenSource, TokenState } from './source.js';
export type { Jwks } from './keys.js';
export { staticTokenSource } from './source.js';

export interface TargetAuth {
  source: AccessTokenSource;
  /** The public keys to serve at /.well-known/jwks.json (smart-backend only). */
  jwks?: Jwks;
}

export interface TargetAuthOptions {
  settings: FhirAuthSettings;
  /** The external FHIR server (token endpoint discovery). */
  fhirBaseUrl: string;
  timeoutMs: number;
  logger?: Logger;
}

/**
 * Creates the token source for an external FHIR server.
 * @throws Error (start-up) when the signing key cannot be used.
 */
export async function createTargetAuth(o: TargetAuthOptions): Promise<TargetAuth> {
  const s = o.settings;
  if (s.type === 'none' || s.type === 'bearer') {
    return { source: staticTokenSource(() => s.token) };
  }
  // loadConfig guarantees the variables each type requires.
  const clientId = s.clientId as string;
  let authenticate: ClientAuthentication;
  let jwks: Jwks | undefined;
  if (s.type === 'smart-backend') {
    const key = await loadSigningKey(s.privateKeyFile as string, s.alg, s.keyId);
    authenticate = privateKeyJwtAuth(clientId, key);
    jwks = jwksOf([key]);
    o.logger?.info('SMART Backend Services signing key loaded', { alg: key.alg, kid: key.kid, jwks: '/.well-known/jwks.json' });
  } else {
    authenticate = clientSecretAuth(clientId, s.clientSecret as string, s.secretMethod);
  }
  let discovered: Promise<string> | undefined;
  const tokenUrl = (): Promise<string> => {
    if (s.tokenUrl) {
      return Promise.resolve(s.tokenUrl);
    }
    // Cached once found; a failed discovery is tried again on the next request.
    discovered ??= discoverTokenUrl(o.fhirBaseUrl, o.timeoutMs).catch((err) => {
      discovered = undefined;
      throw err;
    });
    return discovered;
  };
  const source = createOAuthTokenSource({
    tokenUrl,
    authenticate,
    scope: s.scope,
    // Our default asks SMART v2 per-type scopes; a v1-only server gets v1 ones. A configured scope is sent as is.
    ...(s.scopeConfigured ? {} : { fallbackScope: DEFAULT_SCOPE_V1 }),
    timeoutMs: o.timeoutMs,
    logger: o.logger,
  });
  return { source, jwks };
}
