/**
 * The auth test stack: an upstream service hosting the embedded FHIR server, the token server, and the
 * gate (fhir-proxy.ts) that makes that FHIR server require the token server's tokens. Plus keys
 * generated with jose and a FhirTarget built from FHIR_AUTH_* exactly as service.ts builds it.
 */
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { loadTestConfig } from '../../src/config.js';
import { createTargetAuth, type TargetAuth } from '../../src/fhir/auth/index.js';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import type { FhirTarget } from '../../src/fhir/port.js';
import type { Logger } from '../../src/logger.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { startFhirProxy, type FhirProxy } from './fhir-proxy.js';
import { startTokenServer, type TokenServer } from './token-server.js';

export type KeyFormat = 'pkcs8' | 'sec1' | 'pkcs1' | 'jwk';

/** Generates a key pair with jose and writes the private key (mode 0600); returns the path. */
export async function writeKeyFile(dir: string, alg: 'RS384' | 'ES384', format: KeyFormat, name = `${alg}-${format}`): Promise<string> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  let text: string;
  if (format === 'jwk') {
    text = JSON.stringify(await exportJWK(privateKey));
  } else {
    const pem = await exportPKCS8(privateKey);
    // SEC1 ("BEGIN EC PRIVATE KEY", what `openssl ecparam -genkey` writes) and PKCS#1 come from node.
    text = format === 'pkcs8' ? pem : (createPrivateKey(pem).export({ type: format, format: 'pem' }) as string);
  }
  const file = join(dir, `${name}.${format === 'jwk' ? 'json' : 'pem'}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export interface AuthStack {
  dir: string;
  upstream: TestService;
  tokens: TokenServer;
  proxy: FhirProxy;
  close(): Promise<void>;
}

/** Starts the upstream FHIR server (a service instance without sync), the token server and the gate. */
export async function startAuthStack(): Promise<AuthStack> {
  const tmp = tempDir('collateral-auth-');
  const upstream = await startTestService(join(tmp.dir, 'upstream'), { SYNC_ENABLED: 'false', LOG_LEVEL: 'error' });
  const tokens = await startTokenServer();
  const proxy = await startFhirProxy({
    upstreamFhirBaseUrl: `${upstream.url}/fhir`,
    upstreamToken: upstream.apiTokens[0],
    isValid: (t) => tokens.isValid(t),
    tokenEndpoint: tokens.tokenUrl,
  });
  return {
    dir: tmp.dir,
    upstream,
    tokens,
    proxy,
    async close() {
      await proxy.close();
      await tokens.close();
      await upstream.close();
      tmp.cleanup();
    },
  };
}

/** FHIR_AUTH_* -> config -> createTargetAuth -> createKitClientTarget: the path service.ts takes. */
export async function targetFromEnv(
  fhirBaseUrl: string,
  env: Record<string, string>,
  logger?: Logger
): Promise<{ target: FhirTarget; auth: TargetAuth }> {
  const config = loadTestConfig('/tmp/unused', { FHIR_BASE_URL: fhirBaseUrl, ...env });
  const auth = await createTargetAuth({ settings: config.fhirAuth, fhirBaseUrl, timeoutMs: 10_000, logger });
  const target = createKitClientTarget({ name: 'auth-test', baseUrl: fhirBaseUrl, auth: auth.source, timeoutMs: 10_000 });
  return { target, auth };
}

/** Rejects with the outcome of a failed call, or fails the test if the call succeeded. */
export async function outcomeOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return (err as { outcome?: unknown }).outcome;
  }
  throw new Error('expected the call to fail');
}
