/**
 * Regression tests for the hostile inputs of issue #10's "Why": each answered 500 (or leaked JavaScript,
 * or stored prototype keys) before. Now: 400/413/415 with an OperationOutcome that names the problem,
 * quotes neither internals nor the input, and the service keeps serving.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { records } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/service.js';
import { startSecuredService, type SecuredService } from './helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const INTERNALS = /Cannot read|reading '|TypeError|RangeError|SyntaxError|at \w+ \(|node_modules|Failed to decode param|Maximum call stack/;

function expectClean(r: { status: number; body: any; text: string }, status: number, text: RegExp): void {
  expect(r.status).toBe(status);
  expect(r.body?.resourceType).toBe('OperationOutcome');
  expect(r.body.issue.map((i: any) => i.details?.text).join(' | ')).toMatch(text);
  expect(r.text).not.toMatch(INTERNALS);
}

describe('hostile input never gives 5xx', () => {
  let s: SecuredService;
  beforeAll(async () => {
    s = await startSecuredService();
  });
  afterAll(async () => {
    await s.close();
  });

  const BAD_ESCAPES = ['%ZZ', '%FF', '%ED%A0%80', '%uD800', 'a%', '%E0%A4%A'];
  const PATHS = [
    ...['participants', 'consents', 'sessions', 'notes'].flatMap((c) => [
      ['GET', `/api/v1/${c}/{x}`],
      ['PUT', `/api/v1/${c}/{x}`],
    ]),
    ['GET', '/api/v1/clients/{x}/disclosures'],
    ['GET', '/api/v1/sync/dead-letters/session/{x}'],
    ['GET', '/api/v1/sync/dead-letters/{x}/s-1'],
    ['POST', '/api/v1/sync/dead-letters/session/{x}/replay'],
    ['GET', '/fhir/Patient/{x}'],
    ['GET', '/fhir/{x}'],
    ['GET', '/api/v1/{x}'],
  ] as const;

  test.each(BAD_ESCAPES)('malformed percent-encoding %s in any path: 400 naming it, for every role', async (bad) => {
    for (const [method, path] of PATHS) {
      for (const who of ['admin', 'source', 'anonymous'] as const) {
        const r = await s.call(who, method, path.replace('{x}', bad), method === 'GET' ? undefined : records.session);
        expectClean(r, 400, /malformed percent-encoding/);
        expect(r.text).not.toContain(bad);
      }
    }
  });

  test('dot segments are refused, so a public prefix cannot reach a protected route', async () => {
    // fetch would normalize the path; node:http sends it as written.
    for (const path of ['/console/%2E%2E/api/v1/clients/MRN-1001/disclosures', '/console/../api/v1/sync/status', '/healthz/./x']) {
      const r = await new Promise<{ status: number; body: any; text: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: Number(new URL(s.svc.url).port), path, method: 'GET' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), text }));
        });
        req.on('error', reject);
        req.end();
      });
      expectClean(r, 400, /must not contain "\." or "\.\." segments/);
    }
  });

  test.each([
    ['gzip', 'not gzip at all'],
    ['br', 'not brotli either'],
    ['deflate', '\u0000\u0001junk'],
  ])('a body claiming Content-Encoding %s that does not decode: 400, on the API and on /fhir', async (encoding, body) => {
    const api = await s.call('admin', 'PUT', '/api/v1/sessions/s-001', body, { 'content-type': 'application/json', 'content-encoding': encoding });
    expectClean(api, 400, /could not be decoded as its Content-Encoding says/);
    const fhir = await s.call('admin', 'POST', '/fhir/Patient', body, { ...FHIR, 'content-encoding': encoding });
    expectClean(fhir, 400, /could not be decoded as its Content-Encoding says/);
    const imp = await s.call('admin', 'POST', '/api/v1/import', body, { 'content-type': 'application/x-ndjson', 'content-encoding': encoding });
    expect(imp.status).toBeLessThan(500);
  });

  test('a Content-Encoding we do not read: 415 naming the ones we do', async () => {
    const r = await s.call('admin', 'PUT', '/api/v1/sessions/s-001', '{}', { 'content-type': 'application/json', 'content-encoding': 'x-evil-zip' });
    expectClean(r, 415, /send one of: identity, gzip, deflate, br/);
    expect(r.text).not.toContain('x-evil-zip');
  });

  test('bodies that do decode are read (gzip and br on the API and /fhir)', async () => {
    const gz = await s.call('admin', 'PUT', '/api/v1/participants/p-001', gzipSync(JSON.stringify(records.participant)), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(201);
    const br = await s.call('admin', 'POST', '/fhir/Patient', brotliCompressSync('{"resourceType":"Patient"}'), { ...FHIR, 'content-encoding': 'br' });
    expect(br.status).toBe(201);
  });

  test.each([
    ['PUT', '/api/v1/notes/n-cut', 'application/json'],
    ['POST', '/api/v1/import', 'application/x-ndjson'],
    ['POST', '/fhir/Patient', 'application/fhir+json'],
  ])('a client that disconnects mid-body (%s %s): no 5xx, no crash, the service serves on', async (method, path, type) => {
    const before = s.svc.logs().length;
    const { port } = new URL(s.svc.url);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => {
        sock.write(
          `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.admin}\r\nContent-Type: ${type}\r\nContent-Length: 100000\r\n\r\n{"resourceType":"Patient","id":`
        );
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 200);
      });
      sock.on('error', reject);
    });
    await waitFor(async () => /"status":400/.test(s.svc.logs().slice(before)), 5000, 'the aborted request to be logged');
    const logged = s.svc.logs().slice(before);
    expect(logged).not.toMatch(/"status":5\d\d/);
    expect(logged).not.toMatch(/request failed/);
    expect((await s.call('admin', 'GET', '/healthz')).status).toBe(200);
  });

  test('JSON nested 10,000 deep: 400 on /fhir and on the API, no RangeError', async () => {
    const deepArrays = `{"resourceType":"Patient","extension":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expectClean(await s.call('admin', 'POST', '/fhir/Patient', deepArrays, FHIR), 400, /nests deeper than 64 levels/);
    const deepObjects = `{"resourceType":"Patient","extension":[${'{"extension":['.repeat(5_000)}${']}'.repeat(5_000)}]}`;
    expectClean(await s.call('admin', 'PUT', '/fhir/Patient/p1', deepObjects, FHIR), 400, /nests deeper than 64 levels/);
    expectClean(await s.call('admin', 'POST', '/fhir', `{"resourceType":"Bundle","type":"batch","entry":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, FHIR), 400, /nests deeper/);
    const api = `{"id":"s-001","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    expectClean(await s.call('admin', 'PUT', '/api/v1/sessions/s-001', api, { 'content-type': 'application/json' }), 400, /nests deeper than 64 levels/);
    expectClean(await s.call('admin', 'POST', '/api/v1/sync/retry', api, { 'content-type': 'application/json' }), 400, /nests deeper/);
  });

  test('a transaction or batch with malformed entries: 400 naming each, no JavaScript internals, nothing written', async () => {
    const tx = (entry: unknown, type = 'transaction'): string => JSON.stringify({ resourceType: 'Bundle', type, entry });
    const cases: [string, RegExp][] = [
      [tx([{ request: { method: 'POST', url: 'Patient' } }]), /Bundle.entry\[0\].resource.*|must be a FHIR resource/],
      [tx([{}]), /the method and url of this entry/],
      [tx([1, null]), /must be an entry object/],
      [tx([{ request: { method: 'FETCH', url: 'Patient' }, resource: { resourceType: 'Patient' } }]), /must be one of GET/],
      [tx([{ request: { method: 'PUT', url: 'Patient/1' }, resource: { resourceType: 'Observation' } }]), /the resource type the URL names/],
      [tx([{ request: { method: 'PATCH', url: 'Patient/1' }, resource: { resourceType: 'Binary', data: 'bm90IGpzb24=' } }]), /base64 of a JSON Patch/],
      [tx('not a list'), /must be a list of entries/],
      [tx([{ request: { method: 'POST', url: 'Patient' } }], 'batch'), /must be a FHIR resource/],
    ];
    for (const [body, text] of cases) {
      const r = await s.call('admin', 'POST', '/fhir', body, FHIR);
      expectClean(r, 400, text);
      expect(r.body.issue[0].expression[0]).toMatch(/^Bundle\.entry/);
    }
    const both = await s.call('admin', 'POST', '/fhir', tx([{}, { request: { method: 'POST', url: 'Patient' }, resource: 'x' }]), FHIR);
    expect(both.body.issue.map((i: any) => i.expression[0])).toEqual(['Bundle.entry[0].request', 'Bundle.entry[1].resource']);
  });

  test('a PATCH that is not a list of operations: 400 in our words', async () => {
    const created = await s.call('admin', 'POST', '/fhir/Patient', '{"resourceType":"Patient"}', FHIR);
    const path = `/fhir/Patient/${created.body.id}`;
    expectClean(await s.call('admin', 'PATCH', path, '{"op":"add"}', { 'content-type': 'application/json-patch+json' }), 400, /must be a JSON Patch/);
    expectClean(await s.call('admin', 'PATCH', path, '[null, {"op":"nope"}]', { 'content-type': 'application/json-patch+json' }), 400, /must be an operation object/);
  });

  test('/fhir refuses __proto__, constructor and prototype keys anywhere, and unknown keys, like the intake', async () => {
    const proto = '{"resourceType":"Patient","__proto__":{"x":1},"name":[{"constructor":{"y":2}}]}';
    const r = await s.call('admin', 'POST', '/fhir/Patient', proto, FHIR);
    expectClean(r, 400, /not allowed/);
    expect(r.body.issue.map((i: any) => i.expression[0]).sort()).toEqual(['/__proto__', '/name/0/constructor']);
    const inTx = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', prototype: 1 } }] });
    expectClean(await s.call('admin', 'POST', '/fhir', inTx, FHIR), 400, /not allowed/);
    const unknown = await s.call('admin', 'POST', '/fhir/Patient', '{"resourceType":"Patient","nickname":"x"}', FHIR);
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].expression).toEqual(['Patient.nickname']);
    const created = await s.call('admin', 'POST', '/fhir/Patient', '{"resourceType":"Patient"}', FHIR);
    const update = await s.call('admin', 'PUT', `/fhir/Patient/${created.body.id}`, JSON.stringify({ resourceType: 'Patient', id: created.body.id, nickname: 'x' }), FHIR);
    expect(update.status).toBe(400);
    const unknownInTx = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', nickname: 'x' } }] });
    expect((await s.call('admin', 'POST', '/fhir', unknownInTx, FHIR)).status).toBe(400);
    const search = await s.call('admin', 'GET', '/fhir/Patient?_count=1000');
    expect(search.text).not.toMatch(/__proto__|"constructor"|"prototype"/);
    // The API refuses them too.
    const api = await s.call('admin', 'PUT', '/api/v1/sessions/s-001', `{"__proto__":{"polluted":true},${JSON.stringify(records.session).slice(1)}`, { 'content-type': 'application/json' });
    expectClean(api, 400, /not allowed/);
    expect(({} as any).polluted).toBeUndefined();
  });

  test('error texts never quote the values of the request', async () => {
    const canary = 'CANARY-Zq81-Marguerite';
    const r = await s.call('admin', 'GET', `/fhir/Patient?birthdate=${canary}&name=${canary}`);
    expect(r.status).toBeLessThan(500);
    expect(r.text).not.toContain(canary);
    const t = await s.call('admin', 'POST', '/fhir/Patient', JSON.stringify({ resourceType: 'Patient', gender: canary, birthDate: canary }), FHIR);
    expect(t.status).toBe(400);
    expect(t.text).not.toContain(canary);
  });
});
