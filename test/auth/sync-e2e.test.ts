/**
 * The running service syncs through SMART Backend Services: records go in through the API and land on
 * a FHIR server that only takes tokens from a token endpoint that verifies our assertions with the
 * JWKS the service itself serves. One token serves the whole sync; a revoked token is renewed once.
 */
import { join } from 'node:path';
import { NS, records, seedBundle } from '../helpers/fixtures.js';
import { startTestService, waitForState, type TestService } from '../helpers/service.js';
import { startAuthStack, writeKeyFile, type AuthStack } from './helpers.js';

const CLIENT_ID = 'collateral-e2e';
let stack: AuthStack;
let svc: TestService;

beforeAll(async () => {
  stack = await startAuthStack();
  const seeded = await stack.upstream.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' });
  expect(seeded.status).toBe(200);
  const keyFile = await writeKeyFile(stack.dir, 'ES384', 'sec1');
  svc = await startTestService(join(stack.dir, 'svc'), {
    FHIR_BASE_URL: stack.proxy.fhirBaseUrl,
    FHIR_AUTH_TYPE: 'smart-backend',
    FHIR_AUTH_CLIENT_ID: CLIENT_ID,
    FHIR_AUTH_PRIVATE_KEY_FILE: keyFile,
    // No FHIR_AUTH_TOKEN_URL: found in <FHIR_BASE_URL>/.well-known/smart-configuration.
  });
  stack.tokens.clients.set(CLIENT_ID, { jwksUrl: `${svc.url}/.well-known/jwks.json` });
});

afterAll(async () => {
  await svc?.close();
  await stack?.close();
});

const tokenRequests = () => stack.tokens.requests.filter((r) => r.clientId === CLIENT_ID);

test('records sync with one token; a revoked token is renewed once and the sync carries on', async () => {
  for (const [collection, rec] of [
    ['participants', records.participant],
    ['consents', records.consent],
    ['sessions', records.session],
  ] as const) {
    expect((await svc.api('PUT', `/api/v1/${collection}/${rec.id}`, rec)).status).toBe(201);
  }
  await waitForState(svc, 'participants', records.participant.id);
  await waitForState(svc, 'consents', records.consent.id);
  await waitForState(svc, 'sessions', records.session.id);
  expect(tokenRequests()).toMatchObject([{ method: 'private_key_jwt', issued: expect.any(String) }]);
  const first = tokenRequests()[0].issued;
  const withFirst = stack.proxy.seen.filter((s) => s.token === first);
  expect(withFirst.length).toBeGreaterThanOrEqual(3);
  expect(withFirst.every((s) => s.status < 400)).toBe(true);

  stack.tokens.revokeAll();
  expect((await svc.api('PUT', `/api/v1/notes/${records.note.id}`, records.note)).status).toBe(201);
  await waitForState(svc, 'notes', records.note.id);
  expect(tokenRequests()).toHaveLength(2);
  expect(stack.proxy.seen.filter((s) => s.status === 401)).toHaveLength(1);

  const found = await stack.upstream.api('GET', `/fhir/DocumentReference?identifier=${encodeURIComponent(`${NS}/sid/note|${records.note.id}`)}`);
  expect(found.body.entry ?? []).toHaveLength(1);

  const logs = svc.logs();
  for (const r of tokenRequests()) {
    expect(logs).not.toContain(r.issued);
    expect(logs).not.toContain(r.assertion);
  }
});
