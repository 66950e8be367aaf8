/**
 * OAuth2 client credentials with a secret (client_secret_basic and client_secret_post) and the static
 * modes (bearer, none), against the real token endpoint and the gated FHIR server.
 */
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { createLogger } from '../../src/logger.js';
import { startFhirProxy, type FhirProxy } from './fhir-proxy.js';
import { outcomeOf, startAuthStack, targetFromEnv, type AuthStack } from './helpers.js';

let stack: AuthStack;
let logText = '';
const logStream = new PassThrough().on('data', (chunk: Buffer) => {
  logText += chunk.toString('utf8');
});
const logger = createLogger('debug', logStream);

beforeAll(async () => {
  stack = await startAuthStack();
});
afterAll(async () => {
  await stack?.close();
});

// A secret with characters that RFC 6749's form-encoding before Basic must survive.
const SECRET = 's3cret:with spaces&symbols+/=';

describe.each(['basic', 'post'] as const)('client-credentials, client_secret_%s', (method) => {
  const id = `cc-${method}`;
  const env = (secret = SECRET): Record<string, string> => ({
    FHIR_AUTH_TYPE: 'client-credentials',
    FHIR_AUTH_CLIENT_ID: id,
    FHIR_AUTH_CLIENT_SECRET: secret,
    FHIR_AUTH_SECRET_METHOD: method,
    FHIR_AUTH_TOKEN_URL: stack.tokens.tokenUrl,
    FHIR_AUTH_SCOPE: 'system/Patient.rs',
  });
  const mine = () => stack.tokens.requests.filter((r) => r.clientId === id);

  test('gets a token the FHIR server accepts, and reuses it', async () => {
    stack.tokens.clients.set(id, { secret: SECRET });
    const { target } = await targetFromEnv(stack.proxy.fhirBaseUrl, env(), logger);
    for (let i = 0; i < 3; i++) {
      const bundle = await target.search('Patient', { identifier: 'urn:x|1' });
      expect(bundle.resourceType).toBe('Bundle');
    }
    expect(mine()).toMatchObject([{ method: `client_secret_${method}`, scope: 'system/Patient.rs', issued: expect.any(String) }]);
  });

  test('a refused secret is an upstream-failed outcome naming the token endpoint and its status; no FHIR call', async () => {
    const before = stack.proxy.seen.length;
    const { target } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('wrong-secret'), logger);
    const outcome = await outcomeOf(target.search('Patient', { identifier: 'urn:x|1' }));
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', id: 'upstream-failed' });
    expect(outcome.issue[0]).toMatchObject({ code: 'transient', diagnostics: 'upstream-status:0' });
    expect(outcome.issue[0].details.text).toBe(
      `Could not get an access token: the token endpoint ${stack.tokens.tokenUrl} answered HTTP 401 (invalid_client)`
    );
    expect(stack.proxy.seen.length).toBe(before);
  });
});

test('a token endpoint that does not answer is an upstream-failed outcome, not a crash', async () => {
  const { target } = await targetFromEnv(stack.proxy.fhirBaseUrl, {
    FHIR_AUTH_TYPE: 'client-credentials',
    FHIR_AUTH_CLIENT_ID: 'x',
    FHIR_AUTH_CLIENT_SECRET: 'y',
    FHIR_AUTH_TOKEN_URL: 'http://127.0.0.1:9/token',
  });
  const outcome = await outcomeOf(target.search('Patient', {}));
  expect(outcome.id).toBe('upstream-failed');
  expect(outcome.issue[0].details.text).toMatch(/^Could not get an access token: no answer from the token endpoint http:\/\/127\.0\.0\.1:9\/token/);
});

test('the client secret and the tokens never reach the log', () => {
  expect(logText).toContain('access token obtained');
  expect(logText).not.toContain(SECRET);
  expect(logText).not.toContain(encodeURIComponent(SECRET));
  for (const r of stack.tokens.requests) {
    if (r.issued) {
      expect(logText).not.toContain(r.issued);
    }
  }
});

describe('static modes', () => {
  let open: FhirProxy;
  const seenBy = (p: FhirProxy, from: number) => p.seen.slice(from);

  beforeAll(async () => {
    // A server that wants exactly one fixed token.
    open = await startFhirProxy({
      upstreamFhirBaseUrl: `${stack.upstream.url}/fhir`,
      upstreamToken: stack.upstream.apiTokens[0],
      isValid: (t) => t === 'static-token-0123456789',
    });
  });
  afterAll(async () => {
    await open?.close();
  });

  test('bearer sends FHIR_AUTH_TOKEN as is', async () => {
    const { target } = await targetFromEnv(open.fhirBaseUrl, { FHIR_AUTH_TYPE: 'bearer', FHIR_AUTH_TOKEN: 'static-token-0123456789' });
    await target.search('Patient', {});
    expect(open.seen.at(-1)).toEqual({ token: 'static-token-0123456789', status: 200 });
  });

  test('a 401 to a static token is final: no retry with the same token', async () => {
    const from = open.seen.length;
    const { target } = await targetFromEnv(open.fhirBaseUrl, { FHIR_AUTH_TYPE: 'bearer', FHIR_AUTH_TOKEN: 'revoked-static-token' });
    const outcome = await outcomeOf(target.search('Patient', {}));
    expect(outcome.id).toBe('upstream-failed');
    expect(outcome.issue[0]).toMatchObject({ diagnostics: 'upstream-status:401' });
    expect(seenBy(open, from)).toEqual([{ token: 'revoked-static-token', status: 401 }]);
  });

  test('none sends no Authorization header', async () => {
    const from = open.seen.length;
    const { target, auth } = await targetFromEnv(open.fhirBaseUrl, {});
    expect(auth.jwks).toBeUndefined();
    await outcomeOf(target.search('Patient', {}));
    expect(seenBy(open, from)).toEqual([{ token: undefined, status: 401 }]);
    expect(loadConfig({ FHIR_BASE_URL: open.fhirBaseUrl }).fhirAuth.type).toBe('none');
  });

  test('the plain bearerToken option of the client still works (CLI demo)', async () => {
    const target = createKitClientTarget({ name: 'demo', baseUrl: open.fhirBaseUrl, bearerToken: () => 'static-token-0123456789', timeoutMs: 5000 });
    await target.search('Patient', {});
    expect(open.seen.at(-1)?.status).toBe(200);
  });
});
