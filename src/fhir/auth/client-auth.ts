/**
 * How the client proves who it is at the token endpoint: a shared secret (client_secret_basic or
 * client_secret_post, RFC 6749 section 2.3.1) or a signed assertion (private_key_jwt, RFC 7523, as
 * SMART Backend Services requires).
 */
import { signClientAssertion } from './assertion.js';
import type { SigningKey } from './keys.js';
import type { ClientAuthentication } from './oauth-source.js';
import type { SecretMethod } from './settings.js';

/** RFC 6749 appendix B: id and secret are form-encoded before they are joined and base64-encoded. */
function formEncode(s: string): string {
  return new URLSearchParams({ s }).toString().slice(2);
}

export function clientSecretAuth(clientId: string, secret: string, method: SecretMethod): ClientAuthentication {
  if (method === 'post') {
    return async () => ({ form: { client_id: clientId, client_secret: secret } });
  }
  const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64');
  return async () => ({ form: {}, headers: { authorization: `Basic ${basic}` } });
}

export function privateKeyJwtAuth(clientId: string, key: SigningKey): ClientAuthentication {
  return async (tokenUrl) => ({
    form: {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion(key, clientId, tokenUrl),
    },
  });
}
