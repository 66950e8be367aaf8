/**
 * The SMART Backend Services signing key: read once at start from FHIR_AUTH_PRIVATE_KEY_FILE (PEM in
 * any of PKCS#8, PKCS#1 or SEC1 form, or a JWK), checked against the algorithm, and its public half
 * published as a JWKS (routes/jwks.ts). A bad key stops the start with a message naming the variable;
 * the message never quotes the file.
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html
 */
import { createPrivateKey, createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg } from './settings.js';

export interface SigningKey {
  alg: SigningAlg;
  kid: string;
  privateKey: KeyObject;
  /** The public key as served in the JWKS: no private parameters. */
  publicJwk: JWK;
}

export interface Jwks {
  keys: JWK[];
}

const VAR = 'FHIR_AUTH_PRIVATE_KEY_FILE';

/** Start-up failure in the same shape as loadConfig's. */
function invalid(problem: string): Error {
  return new Error(`Invalid configuration:\n  - ${problem}`);
}

/**
 * Loads and checks the private key.
 * @param file - absolute path of the key file.
 * @param wanted - FHIR_AUTH_ALG, or undefined to follow the key type.
 * @param keyId - FHIR_AUTH_KEY_ID, or undefined for the JWK's own kid, else the RFC 7638 thumbprint.
 * @throws Error naming FHIR_AUTH_PRIVATE_KEY_FILE and what is wrong with it.
 */
export async function loadSigningKey(file: string, wanted: SigningAlg | undefined, keyId: string | undefined): Promise<SigningKey> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`${VAR} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${file})`);
  }
  const { key, jwkKid } = parsePrivateKey(text, file);
  const alg = algFor(key, file);
  if (wanted && wanted !== alg) {
    throw invalid(`${VAR} holds a key for ${alg}, but FHIR_AUTH_ALG is ${wanted} (${file})`);
  }
  const bare = createPublicKey(key).export({ format: 'jwk' }) as JWK;
  const kid = keyId ?? jwkKid ?? (await calculateJwkThumbprint(bare));
  return { alg, kid, privateKey: key, publicJwk: { ...bare, kid, alg, use: 'sig' } };
}

/** The JWKS to publish: the public keys only. */
export function jwksOf(keys: readonly SigningKey[]): Jwks {
  return { keys: keys.map((k) => k.publicJwk) };
}

function parsePrivateKey(text: string, file: string): { key: KeyObject; jwkKid?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let jwk: NodeJwk & { kid?: string; keys?: unknown[] };
    try {
      jwk = JSON.parse(trimmed);
    } catch {
      throw invalid(`${VAR} is neither a PEM private key nor valid JSON (a JWK) (${file})`);
    }
    // A JWKS holding exactly one key is accepted too: some tools only write sets.
    if (Array.isArray(jwk.keys) && jwk.keys.length === 1) {
      jwk = jwk.keys[0] as typeof jwk;
    }
    if (typeof jwk.d !== 'string') {
      throw invalid(`${VAR} is a JWK without its private part ("d"); give the private key (${file})`);
    }
    try {
      return { key: createPrivateKey({ key: jwk, format: 'jwk' }), jwkKid: typeof jwk.kid === 'string' ? jwk.kid : undefined };
    } catch {
      throw invalid(`${VAR} is not a usable private JWK (${file})`);
    }
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(trimmed)) {
    throw invalid(`${VAR} is encrypted; give an unencrypted key and protect the file instead (mode 0600) (${file})`);
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(trimmed)) {
    throw invalid(`${VAR} is not a PEM private key ("-----BEGIN PRIVATE KEY-----") or a JWK (${file})`);
  }
  try {
    return { key: createPrivateKey({ key: trimmed, format: 'pem' }) };
  } catch {
    throw invalid(`${VAR} holds a PEM private key that cannot be parsed (${file})`);
  }
}

/** SMART allows RS384 (RSA, 2048 bits or more) and ES384 (EC on P-384); anything else is refused. */
function algFor(key: KeyObject, file: string): SigningAlg {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((d.modulusLength ?? 0) < 2048) {
      throw invalid(`${VAR} holds an RSA key of ${d.modulusLength} bits; RS384 needs at least 2048 (${file})`);
    }
    return 'RS384';
  }
  if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'secp384r1') {
    return 'ES384';
  }
  const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${d.namedCurve}` : `a key of type ${key.asymmetricKeyType}`;
  throw invalid(`${VAR} holds ${what}; use an RSA key (RS384) or an EC key on P-384 (ES384) (${file})`);
}
