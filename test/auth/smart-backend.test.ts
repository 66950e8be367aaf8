/**
 * SMART Backend Services against a real token endpoint that verifies our assertions with the JWKS the
 * running service serves, and a FHIR server that only takes that endpoint's tokens. Run for RS384 (a
 * PKCS#8 PEM key) and ES384 (a JWK key file).
 */
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { startTestService, type TestService } from '../helpers/service.js';
import { outcomeOf, startAuthStack, targetFromEnv, writeKeyFile, type AuthStack, type KeyFormat } from './helpers.js';
import { DEFAULT_SCOPE_V2 } from '../../src/fhir/auth/scopes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['RS384', 'pkcs8'],
  ['ES384', 'jwk'],
] as const)('smart-backend with %s (%s key file)', (alg: 'RS384' | 'ES384', format: KeyFormat) => {
  let stack: AuthStack;
  let svc: TestService;
  let keyFile: string;
  let jwksUrl: string;
  let clients = 0;

  /** A fresh client registration and a target for it, so each test counts only its own requests. */
  async function client(env: Record<string, string> = {}) {
    const id = `collateral-${alg}-${++clients}`;
    stack.tokens.clients.set(id, { jwksUrl });
    const { target } = await targetFromEnv(
      stack.proxy.fhirBaseUrl,
      {
        FHIR_AUTH_TYPE: 'smart-backend',
        FHIR_AUTH_CLIENT_ID: id,
        FHIR_AUTH_PRIVATE_KEY_FILE: keyFile,
        FHIR_AUTH_TOKEN_URL: stack.tokens.tokenUrl,
        ...env,
      },
      svc.logger
    );
    const tokenRequests = () => stack.tokens.requests.filter((r) => r.clientId === id);
    const fhirRequests = () => {
      const mine = new Set(tokenRequests().map((r) => r.issued));
      return stack.proxy.seen.filter((s) => s.token !== undefined && mine.has(s.token));
    };
    return { id, target, tokenRequests, fhirRequests };
  }

  beforeAll(async () => {
    stack = await startAuthStack();
    keyFile = await writeKeyFile(stack.dir, alg, format);
    svc = await startTestService(join(stack.dir, 'svc'), {
      FHIR_BASE_URL: stack.proxy.fhirBaseUrl,
      FHIR_AUTH_TYPE: 'smart-backend',
      FHIR_AUTH_CLIENT_ID: 'collateral-svc',
      FHIR_AUTH_PRIVATE_KEY_FILE: keyFile,
      FHIR_AUTH_TOKEN_URL: stack.tokens.tokenUrl,
      SYNC_ENABLED: 'false',
    });
    jwksUrl = `${svc.url}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await svc?.close();
    await stack?.close();
  });

  test('serves the public key at /.well-known/jwks.json without a token, and nothing private', async () => {
    const res = await fetch(jwksUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: alg === 'RS384' ? 'RSA' : 'EC', alg, use: 'sig', kid: expect.any(String) });
    for (const privateParam of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      expect(key).not.toHaveProperty(privateParam);
    }
  });

  test('each assertion: iss = sub = client_id, aud = token URL, exp within 5 minutes, a new jti', async () => {
    const c = await client();
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    stack.tokens.revokeAll();
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    const seen = c.tokenRequests();
    expect(seen).toHaveLength(2);
    const kid = ((await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] }).keys[0].kid;
    for (const r of seen) {
      expect(r).toMatchObject({ method: 'private_key_jwt', issued: expect.any(String), scope: DEFAULT_SCOPE_V2 });
      expect(r.header).toMatchObject({ alg, kid, typ: 'JWT' });
      expect(r.claims).toMatchObject({ iss: c.id, sub: c.id, aud: stack.tokens.tokenUrl });
      const secondsLeft = (r.claims?.exp as number) - r.at / 1000;
      expect(secondsLeft).toBeGreaterThan(0);
      expect(secondsLeft).toBeLessThanOrEqual(300);
    }
    expect(seen[0].claims?.jti).toEqual(expect.any(String));
    expect(seen[1].claims?.jti).not.toBe(seen[0].claims?.jti);
  });

  test('an assertion signed with a key that is not in the JWKS is refused, and no FHIR request is sent', async () => {
    const otherKey = await writeKeyFile(stack.dir, alg, format, 'not-published');
    const c = await client({ FHIR_AUTH_PRIVATE_KEY_FILE: otherKey });
    const outcome = await outcomeOf(c.target.search('Patient', { identifier: 'urn:x|1' }));
    expect(outcome.id).toBe('upstream-failed');
    expect(outcome.issue[0].details.text).toContain(`the token endpoint ${stack.tokens.tokenUrl} answered HTTP 401 (invalid_client)`);
    expect(c.tokenRequests()).toMatchObject([{ refused: 'invalid_client' }]);
    expect(c.fhirRequests()).toHaveLength(0);
  });

  test('one token serves many FHIR calls, concurrent from a cold start or one after another', async () => {
    const c = await client();
    await Promise.all(Array.from({ length: 6 }, () => c.target.search('Patient', { identifier: 'urn:x|1' })));
    for (let i = 0; i < 6; i++) {
      await c.target.read('Patient', 'does-not-exist').catch(() => undefined);
    }
    expect(c.tokenRequests()).toHaveLength(1);
    expect(c.fhirRequests()).toHaveLength(12);
    expect(c.fhirRequests().every((s) => s.status !== 401)).toBe(true);
  });

  test('the token is renewed before it expires, not after a refusal', async () => {
    stack.tokens.expiresInS = 3;
    try {
      const c = await client();
      await c.target.search('Patient', { identifier: 'urn:x|1' });
      await c.target.search('Patient', { identifier: 'urn:x|1' });
      expect(c.tokenRequests()).toHaveLength(1);
      await sleep(2_500); // past 80 % of the lifetime, before its end
      await c.target.search('Patient', { identifier: 'urn:x|1' });
      const [first, second] = c.tokenRequests();
      expect(second).toBeDefined();
      expect(second.at).toBeLessThan(first.at + 3_000);
      expect(c.fhirRequests().map((s) => s.status)).toEqual([200, 200, 200]);
      expect(c.fhirRequests()[2].token).toBe(second.issued);
    } finally {
      stack.tokens.expiresInS = 3600;
    }
  });

  test('a 401 renews the token once and retries the request once (a write lands exactly once)', async () => {
    const c = await client();
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    stack.tokens.revokeAll();
    const mrn = `MRN-401-${alg}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: mrn }] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:test:mrn|${mrn}` },
        },
      ],
    };
    const answer = await c.target.transaction(bundle);
    expect(answer.entry?.[0].response?.status).toMatch(/^201/);
    expect(c.tokenRequests()).toHaveLength(2);
    expect(c.fhirRequests().map((s) => s.status)).toEqual([200, 401, 200]);
    const found = await c.target.search('Patient', { identifier: `urn:test:mrn|${mrn}` });
    expect(found.entry ?? []).toHaveLength(1);
  });

  test('concurrent requests refused together share one renewal', async () => {
    const c = await client();
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    stack.tokens.revokeAll();
    await Promise.all(Array.from({ length: 5 }, () => c.target.search('Patient', { identifier: 'urn:x|1' })));
    expect(c.tokenRequests()).toHaveLength(2);
    expect(c.fhirRequests().filter((s) => s.status === 401)).toHaveLength(5);
    expect(c.fhirRequests().filter((s) => s.status === 200)).toHaveLength(6);
  });

  test('a server that keeps answering 401 gets one renewal and one retry, then the 401 is the answer', async () => {
    const c = await client();
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    stack.proxy.refuseAll = true;
    try {
      const outcome = await outcomeOf(c.target.search('Patient', { identifier: 'urn:x|1' }));
      expect(outcome.id).toBe('upstream-failed');
      expect(outcome.issue[0]).toMatchObject({ diagnostics: 'upstream-status:401' });
    } finally {
      stack.proxy.refuseAll = false;
    }
    expect(c.tokenRequests()).toHaveLength(2);
    expect(c.fhirRequests().map((s) => s.status)).toEqual([200, 401, 401]);
  });

  test('without FHIR_AUTH_TOKEN_URL the token endpoint is found in the SMART configuration', async () => {
    const c = await client({ FHIR_AUTH_TOKEN_URL: '' });
    await c.target.search('Patient', { identifier: 'urn:x|1' });
    expect(c.tokenRequests()).toHaveLength(1);
    expect(c.tokenRequests()[0].claims?.aud).toBe(stack.tokens.tokenUrl);
  });

  test('no token, secret or assertion ever reaches the log', () => {
    const logs = svc.logs();
    expect(logs).toContain('access token obtained');
    for (const r of stack.tokens.requests) {
      for (const secret of [r.issued, r.assertion]) {
        if (secret) {
          expect(logs).not.toContain(secret);
        }
      }
    }
  });
});
