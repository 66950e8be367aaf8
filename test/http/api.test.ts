/**
 * The inbound API over HTTP (supertest against the real app and a real SQLite store; sync not running).
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { records } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'http-test-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('inbound API v1', () => {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'store.sqlite'));
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (c: Buffer) => (logText += c.toString()));
  const app = createApp({
    logger: createLogger('debug', logs),
    apiTokens: [TOKEN],
    intake: { store, targets: ['t1'] },
    store,
    bodyLimitBytes: 64 * 1024,
    importLimitBytes: 1024 * 1024,
  });
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  test('every request needs a valid bearer token', async () => {
    const none = await request(app).get('/api/v1/sessions/s-001');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    const wrong = await request(app).get('/api/v1/sessions/s-001').set('Authorization', 'Bearer nope');
    expect(wrong.status).toBe(401);
  });

  test('PUT creates (201), resending is unchanged (200), GET returns the record and its sync state', async () => {
    const created = await request(app).put('/api/v1/participants/p-001').set(auth).send(records.participant);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'participant', id: 'p-001', status: 'accepted', version: 1 });
    expect(created.body.sync).toEqual([expect.objectContaining({ target: 't1', state: 'pending' })]);

    const again = await request(app).put('/api/v1/participants/p-001').set(auth).send(records.participant);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'unchanged', version: 1 });

    const got = await request(app).get('/api/v1/participants/p-001').set(auth);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ kind: 'participant', id: 'p-001', version: 1, record: records.participant });
    expect(got.body.sync[0].state).toBe('pending');
  });

  test('every kind is accepted at its collection', async () => {
    for (const [c, rec] of [
      ['consents', records.consent],
      ['sessions', records.session],
      ['notes', records.note],
    ] as const) {
      const r = await request(app).put(`/api/v1/${c}/${rec.id}`).set(auth).send(rec);
      expect(r.status).toBe(201);
    }
  });

  test('a bad record gets 400 with every problem and its JSON path', async () => {
    const bad = { ...records.session, type: 'group', modality: undefined, nickname: 'x', client: {} };
    const r = await request(app).put('/api/v1/sessions/s-001').set(auth).send(bad);
    expect(r.status).toBe(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
    const paths = r.body.issue.flatMap((i: any) => i.expression ?? []);
    expect(paths).toEqual(expect.arrayContaining(['/type', '/modality', '/nickname', '/client/mrn']));
  });

  test('the path id must equal the body id', async () => {
    const r = await request(app).put('/api/v1/sessions/s-002').set(auth).send(records.session);
    expect(r.status).toBe(400);
    expect(r.body.issue).toEqual(expect.arrayContaining([expect.objectContaining({ expression: ['/id'] })]));
  });

  test('malformed JSON is a clear 400, never a 500', async () => {
    const r = await request(app)
      .put('/api/v1/sessions/s-001')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"id": "s-001",');
    expect(r.status).toBe(400);
    expect(r.body.issue[0].details.text).toMatch(/not valid JSON/);
  });

  test('a body over the limit gets 413', async () => {
    const r = await request(app)
      .put('/api/v1/notes/n-big')
      .set(auth)
      .send({ ...records.note, id: 'n-big', text: 'x'.repeat(70 * 1024) });
    expect(r.status).toBe(413);
  });

  test('unknown collection and unknown record are 404', async () => {
    expect((await request(app).get('/api/v1/widgets/x').set(auth)).status).toBe(404);
    expect((await request(app).get('/api/v1/sessions/nope').set(auth)).status).toBe(404);
  });

  test('import takes NDJSON and answers per line; good lines are kept when others fail', async () => {
    const lines = [
      JSON.stringify({ kind: 'participant', record: { ...records.participant, id: 'p-010' } }),
      '{not json',
      JSON.stringify({ kind: 'session', record: { ...records.session, id: 's-010', status: 'done' } }),
      '',
      JSON.stringify({ kind: 'participant', record: records.participant }),
    ].join('\n');
    const r = await request(app).post('/api/v1/import').set(auth).set('Content-Type', 'application/x-ndjson').send(lines);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ lines: 4, accepted: 1, unchanged: 1, rejected: 2 });
    expect(r.body.results.map((x: any) => [x.line, x.status])).toEqual([
      [1, 'accepted'],
      [2, 'rejected'],
      [3, 'rejected'],
      [5, 'unchanged'],
    ]);
    expect(JSON.stringify(r.body.results[2].outcome)).toContain('/record/status');
    expect((await request(app).get('/api/v1/participants/p-010').set(auth)).status).toBe(200);
  });

  test('access logs have request ids and no PHI', () => {
    expect(logText).toMatch(/"requestId"/);
    expect(logText).not.toContain('Maria');
    expect(logText).not.toContain('555-0100');
  });
});
