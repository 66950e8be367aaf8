/**
 * JWT bearer tokens from an identity provider: a local JWKS served by the test, tokens signed with its
 * key, the real service verifying issuer, audience, expiry and signature, and mapping the roles claim.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../../src/config.js';
import { rolesFrom } from '../../src/auth/jwt.js';
import { startSecuredService, type SecuredService } from './helpers.js';

const ISSUER = 'https://idp.example-hospital.org/realms/clinic';
const AUDIENCE = 'collateral-fhir';

describe('JWT bearer tokens', () => {
  let idp: Server;
  let jwksUrl: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let jwks: { keys: JWK[] };
  let s: SecuredService;

  const token = (claims: Record<string, unknown>, opts: { key?: CryptoKey; iss?: string; aud?: string; exp?: string | number; alg?: string } = {}): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: 'k1' })
      .setSubject('dr.nguyen')
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    ({ privateKey: otherKey } = await generateKeyPair('RS256'));
    key = pair.privateKey;
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    idp = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
    s = await startSecuredService({
      AUTH_JWKS_URL: jwksUrl,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_ROLES_CLAIM: 'realm_access.roles',
      AUTH_ROLE_MAP: 'ehr-privacy=privacy-officer,ops=operator',
      AUTH_FAILURE_LIMIT: '100000',
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => idp.close(r));
  });

  test('a valid token gets the roles its claim maps to, and only those', async () => {
    const t = await token({ realm_access: { roles: ['ehr-privacy', 'unrelated-group'] } });
    expect((await s.call(`token:${t}`, 'GET', '/api/v1/clients/MRN-1/disclosures')).status).toBe(200);
    const denied = await s.call(`token:${t}`, 'GET', '/api/v1/sync/status');
    expect(denied.status).toBe(403);
    expect(denied.body.issue[0].details.text).toContain('credential "jwt:dr.nguyen" has privacy-officer');
  });

  test('role names in the claim are taken as they are', async () => {
    const t = await token({ realm_access: { roles: ['operator'] } });
    expect((await s.call(`token:${t}`, 'GET', '/api/v1/sync/status')).status).toBe(200);
  });

  test('a token with no role is authenticated but refused everything that needs one', async () => {
    const t = await token({});
    expect((await s.call(`token:${t}`, 'GET', '/api/v1/sync/status')).status).toBe(403);
    expect((await s.call(`token:${t}`, 'GET', '/fhir/metadata')).status).toBe(200);
  });

  test.each([
    ['another issuer', { iss: 'https://evil.example' }],
    ['another audience', { aud: 'someone-else' }],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 60 }],
    ['signed by another key', { key: 'other' }],
  ])('%s: 401', async (_what, opts) => {
    const t = await token({ realm_access: { roles: ['operator'] } }, { ...opts, key: (opts as { key?: string }).key ? otherKey : undefined } as never);
    const r = await s.call(`token:${t}`, 'GET', '/api/v1/sync/status');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  test('an unsigned token (alg none) is refused', async () => {
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const t = `${b64({ alg: 'none' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60, realm_access: { roles: ['admin'] } })}.sig`;
    expect((await s.call(`token:${t}`, 'GET', '/api/v1/sync/status')).status).toBe(401);
  });

  test('settings are checked at start: all three variables, https, a valid role map', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp/jwks' })).toThrow(/need all of AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE \(missing: AUTH_ISSUER, AUTH_AUDIENCE\)/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'http://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' })).toThrow(/must be an https URL/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', AUTH_ROLE_MAP: 'x=root' })).toThrow(/AUTH_ROLE_MAP/);
    expect(() => loadConfig({ AUTH_ROLES_CLAIM: 'roles' })).toThrow(/applies to JWT bearer tokens only/);
  });

  test('claim values: arrays, space-separated strings, mapped or literal role names, nothing else', () => {
    expect(rolesFrom(['analyst', 'x', 7], {})).toEqual(['analyst']);
    expect(rolesFrom('fhir-reader source', {})).toEqual(['fhir-reader', 'source']);
    expect(rolesFrom(['grp'], { grp: 'operator' })).toEqual(['operator']);
    expect(rolesFrom({ admin: true }, {})).toEqual([]);
  });

  test('the IdP\'s keys out of reach: 503 with Retry-After, not a refusal of the token', async () => {
    // A port nothing listens on.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/jwks.json`;
    await new Promise((r) => probe.close(r));
    const down = await startSecuredService({ AUTH_JWKS_URL: deadUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    try {
      const r = await down.call(`token:${await token({ roles: ['operator'] })}`, 'GET', '/api/v1/sync/status');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('30');
      expect(r.body.issue[0].code).toBe('transient');
      // Named keys keep working meanwhile.
      expect((await down.call('operator', 'GET', '/api/v1/sync/status')).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
