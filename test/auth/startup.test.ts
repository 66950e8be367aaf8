/**
 * Start-up checks of FHIR_AUTH_*: missing settings and unusable key files stop the start with a
 * message naming the variable and the problem (never the key), before anything is created on disk.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { loadConfig } from '../../src/config.js';
import { loadSigningKey } from '../../src/fhir/auth/keys.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { writeKeyFile } from './helpers.js';

const tmp = tempDir('collateral-auth-start-');
afterAll(() => tmp.cleanup());

const smart = (file: string, extra: Record<string, string> = {}): Record<string, string> => ({
  FHIR_BASE_URL: 'https://ehr.example.org/fhir',
  FHIR_AUTH_TYPE: 'smart-backend',
  FHIR_AUTH_CLIENT_ID: 'collateral',
  FHIR_AUTH_TOKEN_URL: 'https://ehr.example.org/oauth2/token',
  FHIR_AUTH_PRIVATE_KEY_FILE: file,
  ...extra,
});

function write(name: string, text: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** Starts the service and returns the start-up error message, checking nothing was created. */
async function startFailure(env: Record<string, string>): Promise<string> {
  const dataDir = join(tmp.dir, `data-${Math.random().toString(36).slice(2)}`);
  let message = '';
  try {
    const svc = await startTestService(dataDir, env);
    await svc.close();
  } catch (err) {
    message = (err as Error).message;
  }
  expect(existsSync(dataDir)).toBe(false);
  return message;
}

describe('missing settings fail loadConfig with every problem named', () => {
  test('smart-backend without client id and key file', () => {
    expect(() => loadConfig({ FHIR_BASE_URL: 'https://ehr.example.org/fhir', FHIR_AUTH_TYPE: 'smart-backend' })).toThrow(
      /FHIR_AUTH_CLIENT_ID is required when FHIR_AUTH_TYPE is smart-backend\n {2}- FHIR_AUTH_PRIVATE_KEY_FILE is required/
    );
  });
});

describe('unusable key files stop the start', () => {
  test.each([
    ['a missing file', async () => join(tmp.dir, 'nope.pem'), {}, /FHIR_AUTH_PRIVATE_KEY_FILE cannot be read \(ENOENT: .*nope\.pem\)/],
    ['text that is no key', async () => write('junk.pem', 'not a key SECRETSTUFF'), {}, /is not a PEM private key/],
    ['a PEM that does not parse', async () => write('bad.pem', '-----BEGIN PRIVATE KEY-----\nSECRETSTUFF\n-----END PRIVATE KEY-----\n'), {}, /holds a PEM private key that cannot be parsed/],
    ['a public key', async () => write('pub.pem', await exportSPKI((await generateKeyPair('ES384', { extractable: true })).publicKey)), {}, /is not a PEM private key/],
    ['a public JWK', async () => write('pub.json', JSON.stringify(await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey))), {}, /is a JWK without its private part/],
    ['an RSA key with FHIR_AUTH_ALG=ES384', async () => writeKeyFile(tmp.dir, 'RS384', 'pkcs8'), { FHIR_AUTH_ALG: 'ES384' }, /holds a key for RS384, but FHIR_AUTH_ALG is ES384/],
    ['an EC key on P-256', async () => write('p256.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), {}, /holds an EC key on prime256v1; use an RSA key \(RS384\) or an EC key on P-384 \(ES384\)/],
    ['a 1024-bit RSA key', async () => write('rsa1024.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), {}, /RSA key of 1024 bits; RS384 needs at least 2048/],
    ['an Ed25519 key', async () => write('ed.pem', generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), {}, /holds a key of type ed25519/],
    [
      'an encrypted key',
      async () => write('enc.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string),
      {},
      /is encrypted; give an unencrypted key/,
    ],
  ] as const)('%s', async (_what, makeFile, extra, expected) => {
    const message = await startFailure(smart(await makeFile(), extra));
    expect(message).toMatch(/^Invalid configuration:\n {2}- FHIR_AUTH_PRIVATE_KEY_FILE /);
    expect(message).toMatch(expected);
    expect(message).not.toContain('SECRETSTUFF');
  });
});

describe('usable key files', () => {
  test.each([
    ['RS384', 'pkcs8'],
    ['RS384', 'pkcs1'],
    ['ES384', 'sec1'],
    ['ES384', 'jwk'],
  ] as const)('%s from a %s file: the algorithm follows the key, the kid is its thumbprint', async (alg, format) => {
    const key = await loadSigningKey(await writeKeyFile(tmp.dir, alg, format), undefined, undefined);
    expect(key.alg).toBe(alg);
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicJwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
    expect(key.publicJwk).not.toHaveProperty('d');
  });

  test('FHIR_AUTH_KEY_ID, else the kid in a JWK file, names the key', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const file = write('with-kid.json', JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'from-the-file' }));
    expect((await loadSigningKey(file, undefined, undefined)).kid).toBe('from-the-file');
    expect((await loadSigningKey(file, 'ES384', 'from-config')).kid).toBe('from-config');
  });
});
