/**
 * The medplum-like server's OAuth2 and scopes over HTTP: its token endpoint (client credentials, the
 * scope echoed whole), SMART discovery, 401 without a valid token, and medplum's first-wildcard-scope
 * rule: `system/*.rs system/*.cu` is read-only (403 on every write, per entry inside a Bundle) while
 * per-type scopes work. The product's own OAuth client proves the sync's old default fails and
 * DEFAULT_SCOPE_V2 works.
 */
import { DEFAULT_SCOPE_V2 } from '../../src/fhir/auth/scopes.js';
import { upstreamStatusOf } from '../../src/outcomes.js';
import { outcomeOf, targetFromEnv } from '../auth/helpers.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { SYS, bundle, createEntry, provenance, sample, send, statuses } from './medplum-helpers.js';

const CLIENT = 'sync-client';
const SECRET = 'secret-one-0123456789';
const OLD_DEFAULT = 'system/*.rs system/*.cu';

describe('medplum-like: OAuth2 and SMART scopes', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let tokenUrl: string;
  let patientRef: string;

  /** A token from the server's endpoint (client_secret_post unless `basic`). */
  async function tokenFor(scope: string | undefined, basic = false, client = CLIENT, secret = SECRET): Promise<{ status: number; body: any }> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (basic) {
      headers.authorization = `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`;
    } else {
      form.set('client_id', client);
      form.set('client_secret', secret);
    }
    const res = await fetch(tokenUrl, { method: 'POST', headers, body: form });
    return { status: res.status, body: await res.json() };
  }
  async function token(scope: string): Promise<string> {
    const r = await tokenFor(scope);
    expect(r.status).toBe(200);
    return r.body.access_token as string;
  }

  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', tmp.dir, { medplum: { clients: { [CLIENT]: SECRET, other: 'secret-two-0123456789' } } });
    tokenUrl = target.tokenUrl as string;
    const [patient] = await target.seed([sample('Patient', 'MRN-1')]);
    patientRef = `Patient/${patient.id}`;
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('discovery and /metadata are public and name the token endpoint', async () => {
    expect(tokenUrl).toBe(`${target.url.replace(/\/fhir$/, '')}/oauth2/token`);
    for (const url of [`${target.url}/.well-known/smart-configuration`, `${target.url.replace(/\/fhir$/, '')}/.well-known/smart-configuration`]) {
      const r = await send('GET', url);
      expect(r.status).toBe(200);
      expect(r.body.token_endpoint).toBe(tokenUrl);
    }
    const cs = (await send('GET', `${target.url}/metadata`)).body;
    expect(cs.rest[0].security.extension[0].extension).toEqual([{ url: 'token', valueUri: tokenUrl }]);
  });

  test('client_secret_basic and client_secret_post both work; the scope is echoed whole; openid without one', async () => {
    for (const basic of [true, false]) {
      const r = await tokenFor(OLD_DEFAULT, basic);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: OLD_DEFAULT });
      expect(r.body.access_token).toEqual(expect.any(String));
    }
    expect((await tokenFor(undefined)).body.scope).toBe('openid');
    const methods = target.medplum?.stats().tokenRequests.slice(0, 2).map((t) => t.method);
    expect(methods).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(JSON.stringify(target.medplum?.stats())).not.toContain(SECRET);
  });

  test("bad credentials get medplum's answers: 400 invalid_request", async () => {
    expect(await tokenFor('openid', false, CLIENT, 'wrong-secret')).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'Invalid secret' } });
    expect(await tokenFor('openid', true, 'nobody', SECRET)).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'Invalid client' } });
    const password = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'u', password: 'p' }),
    });
    expect(password.status).toBe(400);
    expect(await password.json()).toMatchObject({ error: 'invalid_request', error_description: 'Unsupported grant_type' });
  });

  test('the API needs a token issued here (401 otherwise); revoked tokens are refused', async () => {
    expect((await send('GET', `${target.url}/Patient`)).status).toBe(401);
    const wrong = await send('GET', `${target.url}/Patient`, undefined, { token: 'not-a-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    const t = await token('system/*.cruds');
    expect((await send('GET', `${target.url}/Patient`, undefined, { token: t })).status).toBe(200);
    target.medplum?.revokeTokens();
    expect((await send('GET', `${target.url}/Patient`, undefined, { token: t })).status).toBe(401);
    // The admin side is not the API: no OAuth there.
    expect((await send('GET', `${target.adminUrl}/Patient`)).status).toBe(200);
  });

  test('`system/*.rs system/*.cu`: only the first wildcard scope counts, so reads work and every write is 403', async () => {
    const t = await token(OLD_DEFAULT);
    expect((await send('GET', `${target.url}/Patient?identifier=${SYS}|MRN-1`, undefined, { token: t })).status).toBe(200);
    const top = await send('POST', `${target.url}/RelatedPerson`, sample('RelatedPerson', 'rp-top', patientRef), { token: t });
    expect(top.status).toBe(403);
    expect(top.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    const r = await send(
      'POST',
      target.url,
      bundle('batch', [
        createEntry(sample('RelatedPerson', 'rp-batch', patientRef)),
        createEntry(sample('Encounter', 'enc-batch', patientRef)),
        { request: { method: 'GET', url: `Patient?identifier=${SYS}|MRN-1` } },
      ]),
      { token: t }
    );
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['403', '403', '200']);
    expect(r.body.entry[0].response.outcome.issue[0].code).toBe('forbidden');
    expect(await target.countByIdentifier('RelatedPerson', SYS, 'rp-batch')).toBe(0);
  });

  test('a wildcard scope hides the per-type ones: `system/*.rs system/RelatedPerson.cru` cannot write RelatedPerson', async () => {
    const t = await token('system/*.rs system/RelatedPerson.cru');
    expect((await send('POST', `${target.url}/RelatedPerson`, sample('RelatedPerson', 'rp-hidden', patientRef), { token: t })).status).toBe(403);
  });

  test('per-type scopes work as written; types not named are refused, read-only types cannot be written', async () => {
    const t = await token('system/RelatedPerson.cru system/Patient.rs');
    expect((await send('POST', `${target.url}/RelatedPerson`, sample('RelatedPerson', 'rp-typed', patientRef), { token: t })).status).toBe(201);
    expect((await send('POST', `${target.url}/Patient`, sample('Patient', 'MRN-typed'), { token: t })).status).toBe(403);
    expect((await send('GET', `${target.url}/Patient?identifier=${SYS}|MRN-1`, undefined, { token: t })).status).toBe(200);
    expect((await send('GET', `${target.url}/Encounter`, undefined, { token: t })).status).toBe(403);
    // v1 per-type scopes too.
    const v1 = await token('system/Practitioner.read system/Practitioner.write');
    expect((await send('POST', `${target.url}/Practitioner`, sample('Practitioner', 'pr-v1'), { token: v1 })).status).toBe(201);
  });

  test('a non-atomic transaction whose Encounter the scope does not allow leaves an orphan Provenance', async () => {
    const t = await token('system/Provenance.cr system/Patient.rs');
    const encUrn = 'urn:uuid:8c6f3d2a-1b4e-4f5a-9c7d-0e1f2a3b4c5d';
    const r = await send('POST', target.url, bundle('transaction', [createEntry(sample('Encounter', 'enc-scope', patientRef), encUrn), createEntry(provenance(encUrn))]), {
      token: t,
    });
    expect(statuses(r)).toEqual(['403', '201']);
    const targetRef = r.body.entry[1].resource.target[0].reference as string;
    expect((await send('GET', `${target.adminUrl}/${targetRef}`)).status).toBe(404);
  });

  test("the product's OAuth client: the old default scope gets a read-only token, DEFAULT_SCOPE_V2 writes", async () => {
    const env = { FHIR_AUTH_TYPE: 'client-credentials', FHIR_AUTH_CLIENT_ID: CLIENT, FHIR_AUTH_CLIENT_SECRET: SECRET };
    const old = (await targetFromEnv(target.url, { ...env, FHIR_AUTH_SCOPE: OLD_DEFAULT })).target;
    expect((await old.search('Patient', { identifier: `${SYS}|MRN-1` })).entry).toHaveLength(1);
    expect(upstreamStatusOf(await outcomeOf(old.create(sample('RelatedPerson', 'rp-old', patientRef))))).toBe(403);

    const current = (await targetFromEnv(target.url, env)).target; // no FHIR_AUTH_SCOPE: the default, found by discovery
    for (const type of ['RelatedPerson', 'Encounter', 'DocumentReference', 'Practitioner']) {
      const written = await current.create(sample(type, `${type}-v2`, patientRef));
      expect(written).toMatchObject({ status: 201, resource: { resourceType: type, id: expect.any(String) } });
    }
    expect(target.medplum?.stats().tokenRequests.at(-1)).toMatchObject({ clientId: CLIENT, scope: DEFAULT_SCOPE_V2 });
    expect((await current.create(provenance(patientRef))).status).toBe(201);
    // Patient is read and searched only (SYNC_PERMISSIONS): the server refuses writing it.
    expect(upstreamStatusOf(await outcomeOf(current.create(sample('Patient', 'MRN-v2'))))).toBe(403);
  });

  test('the quota is per client', async () => {
    target.medplum?.setQuota({ points: 100 });
    try {
      const a = await token('system/*.cruds');
      const b = (await tokenFor('system/*.cruds', true, 'other', 'secret-two-0123456789')).body.access_token as string;
      expect((await send('POST', `${target.url}/Practitioner`, sample('Practitioner', 'qa-1'), { token: a })).status).toBe(201);
      expect((await send('POST', `${target.url}/Practitioner`, sample('Practitioner', 'qa-2'), { token: a })).status).toBe(429);
      expect((await send('POST', `${target.url}/Practitioner`, sample('Practitioner', 'qb-1'), { token: b })).status).toBe(201);
      expect(target.medplum?.quotaState(CLIENT)).toMatchObject({ remaining: 0 });
    } finally {
      target.medplum?.setQuota(undefined);
    }
  });
});
