/**
 * The client assertion of SMART Backend Services (private_key_jwt, RFC 7523): a JWT signed with our
 * key, new for every token request. The token endpoint verifies it against our JWKS.
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from './keys.js';

/**
 * SMART: exp no more than five minutes in the future. Four, so that a server whose clock runs up to a
 * minute behind ours still sees at most five.
 */
export const ASSERTION_LIFETIME_S = 240;

/**
 * Signs a client assertion: iss = sub = client_id, aud = the token endpoint URL, a unique jti (servers
 * reject a replayed jti), exp in four minutes. No iat/nbf: optional, and a fast clock would make a
 * strict server refuse them.
 * @param key - the signing key (its alg and kid go in the header).
 * @param clientId - the client_id registered with the EHR.
 * @param tokenUrl - the token endpoint, exactly as we post to it.
 */
export async function signClientAssertion(key: SigningKey, clientId: string, tokenUrl: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setExpirationTime(Math.floor(Date.now() / 1000) + ASSERTION_LIFETIME_S)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
