/**
 * Scopes (issue #9 item 4): the default asks SMART v2 per-type scopes a real server grants for our
 * writes, falls back to v1 scopes when the server refuses v2 ones, and a granted scope that lacks what
 * the sync needs is reported at once, by type and permission, against the real token endpoint.
 */
import { PassThrough } from 'node:stream';
import { DEFAULT_SCOPE_V1, DEFAULT_SCOPE_V2, missingPermissions, SYNC_PERMISSIONS } from '../../src/fhir/auth/scopes.js';
import { createLogger } from '../../src/logger.js';
import { outcomeOf, startAuthStack, targetFromEnv, type AuthStack } from './helpers.js';

let stack: AuthStack;
let logText = '';
const logger = createLogger('info', new PassThrough().on('data', (c: Buffer) => (logText += c.toString('utf8'))));

beforeAll(async () => {
  stack = await startAuthStack();
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => {
  stack.tokens.grant = (requested) => requested;
});

const env = (id: string, scope?: string): Record<string, string> => {
  stack.tokens.clients.set(id, { secret: 'scope-test-secret' });
  return {
    FHIR_AUTH_TYPE: 'client-credentials',
    FHIR_AUTH_CLIENT_ID: id,
    FHIR_AUTH_CLIENT_SECRET: 'scope-test-secret',
    FHIR_AUTH_TOKEN_URL: stack.tokens.tokenUrl,
    ...(scope ? { FHIR_AUTH_SCOPE: scope } : {}),
  };
};
const requestsOf = (id: string) => stack.tokens.requests.filter((r) => r.clientId === id);

describe('scope strings', () => {
  test('the v2 default names each type we touch with exactly the permissions the sync uses, no wildcard', () => {
    expect(DEFAULT_SCOPE_V2).toBe(
      'system/Patient.rs system/Practitioner.crs system/RelatedPerson.crus system/Consent.crus system/Encounter.crus ' +
        'system/DocumentReference.crus system/Provenance.crs'
    );
    expect(missingPermissions(DEFAULT_SCOPE_V2)).toEqual([]);
    expect(missingPermissions(DEFAULT_SCOPE_V1)).toEqual([]);
    expect(DEFAULT_SCOPE_V1).not.toMatch(/\*/);
  });

  test('what a scope lacks is named by type and permission, for v1 and v2 grammars and wildcards', () => {
    expect(missingPermissions('system/*.rs')).toEqual(
      Object.keys(SYNC_PERMISSIONS)
        .filter((t) => t !== 'Patient')
        .map((t) => `${t}: ${SYNC_PERMISSIONS[t].includes('u') ? 'create, update' : 'create'}`)
    );
    expect(missingPermissions('system/*.read system/*.write')).toEqual([]);
    expect(missingPermissions('system/*.cruds')).toEqual([]);
    expect(missingPermissions('system/*.rs system/Encounter.cu')).toContain('RelatedPerson: create, update');
    expect(missingPermissions('user/*.cruds patient/*.read')).toHaveLength(Object.keys(SYNC_PERMISSIONS).length);
    expect(missingPermissions('system/Patient.sr')).toContain('Patient: read, search'); // not v2 letter order: not understood
  });
});

describe('against the token endpoint', () => {
  test('without FHIR_AUTH_SCOPE the token request asks the v2 per-type default', async () => {
    const { target, auth } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('scope-default'), logger);
    await target.search('Patient', { identifier: 'urn:x|1' });
    expect(requestsOf('scope-default').map((r) => r.scope)).toEqual([DEFAULT_SCOPE_V2]);
    expect(auth.source.describe?.()).toMatchObject({ requestedScope: DEFAULT_SCOPE_V2, grantedScope: DEFAULT_SCOPE_V2, missingPermissions: [] });
  });

  test('a server that refuses v2 scopes (invalid_scope) is asked again with v1 scopes, and those are kept', async () => {
    stack.tokens.grant = (requested) => (/\.c?r?u?d?s?\b/.test(requested ?? '') && !/\.(read|write)\b/.test(requested ?? '') ? 'invalid_scope' : requested);
    const { target, auth } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('scope-v1-only'), logger);
    await target.search('Patient', { identifier: 'urn:x|1' });
    expect(requestsOf('scope-v1-only').map((r) => [r.scope, r.refused])).toEqual([
      [DEFAULT_SCOPE_V2, 'invalid_scope'],
      [DEFAULT_SCOPE_V1, undefined],
    ]);
    expect(logText).toContain('the token endpoint refused our SMART v2 scopes; asking with SMART v1 scopes');
    // A renewal asks the scope that worked, once.
    await auth.source.renew(await auth.source.token());
    expect(requestsOf('scope-v1-only').map((r) => r.scope).at(-1)).toBe(DEFAULT_SCOPE_V1);
    expect(requestsOf('scope-v1-only')).toHaveLength(3);
  });

  test('a configured scope is sent as is: no fallback when the server refuses it', async () => {
    stack.tokens.grant = () => 'invalid_scope';
    const { target } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('scope-configured', 'system/Patient.rs'), logger);
    const outcome = await outcomeOf(target.search('Patient', {}));
    expect(outcome.issue[0].details.text).toContain('(invalid_scope)');
    expect(requestsOf('scope-configured').map((r) => r.scope)).toEqual(['system/Patient.rs']);
  });

  test('a token granted fewer permissions than the sync needs is reported at once, naming them', async () => {
    stack.tokens.grant = () => 'system/*.rs';
    const before = logText.length;
    const { target, auth } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('scope-read-only'), logger);
    await target.search('Patient', { identifier: 'urn:x|1' });
    const warning = logText
      .slice(before)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message: string; missing?: string[] })
      .find((l) => l.message.startsWith('the access token lacks permissions'));
    expect(warning?.missing).toEqual(missingPermissions('system/*.rs'));
    expect(warning?.missing).toContain('RelatedPerson: create, update');
    expect(auth.source.describe?.()).toMatchObject({ grantedScope: 'system/*.rs', missingPermissions: missingPermissions('system/*.rs') });
  });

  test('a server that does not echo the scope is taken to grant what was asked (RFC 6749 5.1)', async () => {
    stack.tokens.grant = () => undefined;
    const { target, auth } = await targetFromEnv(stack.proxy.fhirBaseUrl, env('scope-silent', 'system/Patient.rs'), logger);
    await target.search('Patient', { identifier: 'urn:x|1' });
    const state = auth.source.describe?.();
    expect(state?.grantedScope).toBeUndefined();
    expect(state?.missingPermissions).toEqual(missingPermissions('system/Patient.rs'));
  });
});
