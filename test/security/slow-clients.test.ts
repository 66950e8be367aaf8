/**
 * Slow clients against the real service, with no deadline on a whole request (HTTP_REQUEST_TIMEOUT_MS
 * defaults to 0 so an import job's upload may take as long as its file):
 * - a client trickling a large declared body it may not send (no credential) loses the connection right
 *   after the 401, instead of holding it while Node reads and discards the rest;
 * - a trickling body on an ordinary route is bounded by the handler timeout (503, connection closed);
 * - an import job whose upload lasts several times every timeout set here completes with every line.
 */
import { connect, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { startSecuredService, type SecuredService } from './helpers.js';

interface Trickle {
  /** The status line of the answer. */
  statusLine: string;
  /** Milliseconds from the answer to the connection's close, or undefined if it stayed open. */
  closedAfterAnswerMs?: number;
}

/** Sends headers declaring a 10 MB body, then one byte every 100 ms; watches for the answer and the close. */
function trickle(port: number, head: string, watchMs: number): Promise<Trickle> {
  return new Promise((resolve, reject) => {
    let text = '';
    let answeredAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const sock: Socket = connect(port, '127.0.0.1', () => {
      sock.write(`${head}Content-Length: 10000000\r\n\r\n{`);
      timer = setInterval(() => {
        if (!sock.destroyed) {
          sock.write(' ');
        }
      }, 100);
    });
    const done = (closed: boolean): void => {
      clearInterval(timer);
      sock.destroy();
      resolve({ statusLine: text.split('\r\n')[0], closedAfterAnswerMs: closed && answeredAt ? Date.now() - answeredAt : undefined });
    };
    sock.on('data', (c: Buffer) => {
      text += c.toString();
      answeredAt ??= Date.now();
    });
    sock.on('close', () => done(true));
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    setTimeout(() => done(false), watchMs).unref();
  });
}

describe('slow clients, no whole-request deadline', () => {
  let s: SecuredService;
  let port: number;
  beforeAll(async () => {
    s = await startSecuredService({ HTTP_HANDLER_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000', AUTH_FAILURE_LIMIT: '100000' });
    port = Number(new URL(s.svc.url).port);
  });
  afterAll(async () => {
    await s.close();
  });

  test('no credential: 401, and the connection is closed instead of read to the end of a trickled body', async () => {
    const r = await trickle(port, 'POST /api/v1/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nPrefer: respond-async\r\n', 8000);
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 401/);
    expect(r.closedAfterAnswerMs).toBeDefined();
  });

  test('a trickled body on an ordinary route: the handler timeout answers 503 and closes the connection', async () => {
    const r = await trickle(port, `PUT /api/v1/sessions/s-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.source}\r\nContent-Type: application/json\r\n`, 15_000);
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 503/);
    expect(r.closedAfterAnswerMs).toBeDefined();
  });

  test('an import job uploading for longer than every timeout above completes with every line', async () => {
    const LINES = 8;
    const line = (i: number): string => `${JSON.stringify({ kind: 'session', record: { id: `slow-${i}` } })}\n`;
    const { status, location, body } = await new Promise<{ status: number; location: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${s.svc.url}/api/v1/import`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${s.tokens.source}`, 'content-type': 'application/x-ndjson', prefer: 'respond-async', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: String(res.headers['content-location'] ?? ''), body: text }));
          res.on('error', reject);
        }
      );
      req.on('error', reject);
      // One line every 500 ms: about 4 s in all, over the handler (1.5 s) and header (1 s) timeouts.
      let i = 0;
      const next = (): void => {
        if (i === LINES) {
          req.end();
          return;
        }
        req.write(line(i++));
        setTimeout(next, 500);
      };
      next();
    });
    expect(status).toBe(202);
    expect(body).toContain('"state"');
    const job = await s.call('source', 'GET', location);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ state: 'completed', linesRead: LINES });
  }, 60_000);
});
