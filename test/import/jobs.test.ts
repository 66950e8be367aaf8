/**
 * Import jobs through the real service (embedded store, real HTTP, bodies written piece by piece):
 * 202 at once, progress while the body is still coming, per-line results, a line over the
 * single-record limit, a body that breaks off, cancel, shutdown mid-job, 415 for the wrong media
 * type, and the synchronous form when its client disconnects.
 */
import { gzipSync } from 'node:zlib';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { openUpload, participantLine, participantLines } from './helpers.js';

const LINE_LIMIT = 2048;

describe('import jobs', () => {
  const tmp = tempDir();
  let svc: TestService;
  let token: string;
  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false', BODY_LIMIT_BYTES: String(LINE_LIMIT) });
    token = svc.apiTokens[0];
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  const job = async (path: string): Promise<any> => (await svc.api('GET', path)).body;
  const results = async (path: string): Promise<any[]> =>
    (await svc.api('GET', `${path}/results`)).text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const stored = async (id: string): Promise<boolean> => (await svc.api('GET', `/api/v1/participants/${id}`)).status === 200;

  test('202 at once with Content-Location; progress while the body comes; results per line; completed', async () => {
    const up = openUpload(svc.url, token);
    await up.write(participantLines('life', 150));
    const res = await up.response;
    expect(res.statusCode).toBe(202);
    const location = res.headers['content-location'] as string;
    expect(location).toMatch(/^\/api\/v1\/import\/[0-9a-f-]{36}$/);

    // The body is still open: the job is running and shows what it has committed so far.
    const running = await waitFor(async () => {
      const j = await job(location);
      return j.linesRead >= 100 ? j : undefined;
    });
    expect(running).toMatchObject({ state: 'running', rejected: 0 });
    expect(running.accepted).toBe(running.linesRead);
    expect(Date.parse(running.updatedAt)).toBeGreaterThanOrEqual(Date.parse(running.startedAt));

    await up.write('{"kind":"session","record":{"id":"s-bad"}}\n\n');
    await up.write(participantLines('life', 50, 151));
    up.req.end();
    const done = await waitFor(async () => {
      const j = await job(location);
      return j.state !== 'running' ? j : undefined;
    });
    expect(done).toMatchObject({ state: 'completed', linesRead: 202, accepted: 200, unchanged: 0, rejected: 1 });
    expect(done.message).toBeUndefined();
    // The 202's body is the job as created; the response ends with the job.
    expect(JSON.parse(await up.text(res))).toMatchObject({ id: location.split('/').pop(), state: 'running' });

    const lines = await results(location);
    expect(lines).toHaveLength(201); // the blank line 152 has no result
    expect(lines[0]).toEqual({ line: 1, kind: 'participant', id: 'p-life1', status: 'accepted', version: 1 });
    const bad = lines.find((l) => l.status === 'rejected');
    expect(bad.line).toBe(151);
    expect(bad.outcome.issue.map((i: any) => i.expression[0])).toEqual(expect.arrayContaining(['/record/client', '/record/therapist']));
    expect(lines[lines.length - 1]).toMatchObject({ line: 202, id: 'p-life200', status: 'accepted' });
    expect(await stored('p-life200')).toBe(true);

    // Sent again: unchanged, version 1.
    const again = openUpload(svc.url, token);
    again.req.end(participantLines('life', 3));
    const loc2 = (await again.response).headers['content-location'] as string;
    const second = await waitFor(async () => ((await job(loc2)).state === 'completed' ? job(loc2) : undefined));
    expect(second).toMatchObject({ accepted: 0, unchanged: 3 });
    // A job cannot be cancelled once ended.
    const del = await svc.api('DELETE', loc2);
    expect(del.status).toBe(409);
    expect(del.body.issue[0].details.text).toMatch(/already ended \(completed\)/);
    expect((await svc.api('GET', '/api/v1/import/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });

  test('a line over the single-record limit is rejected with its number and the job goes on', async () => {
    const up = openUpload(svc.url, token);
    const long = participantLine('p-long', { organization: 'x'.repeat(LINE_LIMIT) });
    up.req.end(`${participantLines('ovr', 2)}${long}\n${participantLines('ovr', 2, 3)}`);
    const location = (await up.response).headers['content-location'] as string;
    const done = await waitFor(async () => ((await job(location)).state !== 'running' ? job(location) : undefined));
    expect(done).toMatchObject({ state: 'completed', linesRead: 5, accepted: 4, rejected: 1 });
    const rejected = (await results(location)).find((l) => l.status === 'rejected');
    expect(rejected.line).toBe(3);
    expect(rejected.outcome.issue[0].details.text).toBe(`line 3: is ${long.length} bytes, longer than the limit of ${LINE_LIMIT} bytes for one record`);
    expect(await stored('p-ovr4')).toBe(true);
  });

  test('a body that breaks off keeps every complete line and drops the unfinished one, and says so', async () => {
    const up = openUpload(svc.url, token);
    const unfinished = participantLine('p-brk-last'); // complete JSON, but no line break: not known to be complete
    await up.write(participantLines('brk', 20) + unfinished);
    const location = (await up.response).headers['content-location'] as string;
    await new Promise((r) => setTimeout(r, 100));
    up.req.destroy();
    const done = await waitFor(async () => ((await job(location)).state !== 'running' ? job(location) : undefined));
    expect(done).toMatchObject({ state: 'failed', linesRead: 20, accepted: 20, rejected: 0 });
    expect(done.message).toBe(
      `The body broke off (the connection closed) after line 20; lines 1..20 are committed. An unfinished line 21 of ${unfinished.length} bytes was dropped.`
    );
    expect(await stored('p-brk20')).toBe(true);
    expect(await stored('p-brk-last')).toBe(false);
    expect(await results(location)).toHaveLength(20);
  });

  test('DELETE cancels a running job: what it committed stays, nothing after it is stored', async () => {
    const up = openUpload(svc.url, token);
    await up.write(participantLines('can', 130));
    const location = (await up.response).headers['content-location'] as string;
    await waitFor(async () => (await job(location)).linesRead >= 100);
    const del = await svc.api('DELETE', location);
    expect(del.status).toBe(200);
    const n = del.body.linesRead;
    expect(del.body).toMatchObject({ state: 'cancelled', accepted: n, message: `cancelled after line ${n}; lines 1..${n} are committed` });
    up.req.write(participantLines('can', 10, 131)); // the connection is closed: goes nowhere
    await new Promise((r) => setTimeout(r, 200));
    expect(await stored(`p-can${n}`)).toBe(true);
    expect(await stored(`p-can${n + 1}`)).toBe(false);
    expect(await stored('p-can131')).toBe(false);
    expect(await job(location)).toMatchObject({ state: 'cancelled', linesRead: n });
    expect(await results(location)).toHaveLength(n);
  });

  test('415 naming the accepted types for application/json or no Content-Type; nothing stored', async () => {
    const body = participantLines('ct', 2);
    const json = await svc.api('POST', '/api/v1/import', body, { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    expect(json.body.issue[0].details.text).toBe(
      "The request's Content-Type is not supported; send one of: application/x-ndjson, application/ndjson, application/jsonl, text/plain, application/octet-stream"
    );
    const none = await fetch(`${svc.url}/api/v1/import`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: new TextEncoder().encode(body) });
    expect(none.status).toBe(415);
    expect(((await none.json()) as any).issue[0].details.text).toMatch(/^A request without Content-Type is not supported; send one of: application\/x-ndjson/);
    const asJob = await svc.api('POST', '/api/v1/import', body, { 'content-type': 'application/json', prefer: 'respond-async' });
    expect(asJob.status).toBe(415);
    const latin1 = await svc.api('POST', '/api/v1/import', body, { 'content-type': 'application/x-ndjson; charset=iso-8859-1' });
    expect(latin1.status).toBe(415);
    expect(await stored('p-ct1')).toBe(false);
  });

  test('gzip bodies are decoded as a stream; an undecodable one answers 400', async () => {
    const ok = await fetch(`${svc.url}/api/v1/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync(participantLines('gz', 3)),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ lines: 3, accepted: 3 });
    const broken = await fetch(`${svc.url}/api/v1/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: new TextEncoder().encode('not gzip at all'),
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).issue[0].details.text).toMatch(/could not be decoded/);
  });

  test('the synchronous form: a client that disconnects mid-body gets no 5xx; complete lines are stored, the broken one is not', async () => {
    const up = openUpload(svc.url, token, { prefer: '' });
    await up.write(participantLines('sdc', 120) + participantLine('p-sdc-partial').slice(0, 40));
    await waitFor(async () => stored('p-sdc100'));
    up.req.destroy();
    // The socket is gone, so nobody reads the answer; what matters is that it is a 400 (logged), not a 500.
    const rejected = /"message":"request rejected"[^\n]*"status":400/;
    await waitFor(async () => rejected.test(svc.logs()), 10_000, 'the rejection to be logged');
    expect(svc.logs()).not.toMatch(/"status":5\d\d/);
    expect(await stored('p-sdc120')).toBe(true);
    expect(await stored('p-sdc-partial')).toBe(false);
  });
});

describe('an import job when the service shuts down', () => {
  const tmp = tempDir();

  afterAll(() => tmp.cleanup());

  test('stops at once and says how far it committed; after the restart the job reads the same', async () => {
    let svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
    const up = openUpload(svc.url, svc.apiTokens[0]);
    await up.write(participantLines('shut', 150));
    const location = (await up.response).headers['content-location'] as string;
    await waitFor(async () => (await svc.api('GET', location)).body.linesRead >= 100);
    const started = Date.now();
    await svc.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
    try {
      const after = (await svc.api('GET', location)).body;
      const n = after.linesRead;
      expect(after).toMatchObject({ state: 'failed', accepted: n, message: `interrupted by a shutdown after line ${n}; lines 1..${n} are committed` });
      expect((await svc.api('GET', `/api/v1/participants/p-shut${n}`)).status).toBe(200);
      expect((await svc.api('GET', `/api/v1/participants/p-shut${n + 1}`)).status).toBe(404);
    } finally {
      await svc.close();
    }
  });
});
