/**
 * A small HTTP proxy on 127.0.0.1 that records every request and response passing through it and
 * forwards them to an upstream (a service instance hosting the embedded FHIR server). It can be told to
 * answer 503 itself without forwarding, to make the sync fail and retry.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  status?: number;
  responseBody?: string;
  /** Not forwarded: the proxy answered 503 itself. */
  refused: boolean;
}

export interface RecordingProxy {
  url: string;
  exchanges: Exchange[];
  /** While true, every request is answered 503 by the proxy and never reaches the upstream. */
  failing: boolean;
  close(): Promise<void>;
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const up = new URL(upstream);
  const proxy: RecordingProxy = { url: '', exchanges: [], failing: false, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const exchange: Exchange = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString('utf8'), refused: proxy.failing };
      proxy.exchanges.push(exchange);
      if (proxy.failing) {
        exchange.status = 503;
        res.writeHead(503, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', details: { text: 'proxy refusing' } }] }));
        return;
      }
      const headers = { ...req.headers, host: up.host };
      const upReq = request({ hostname: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (upRes) => {
        void readAll(upRes).then((answer) => {
          exchange.status = upRes.statusCode;
          exchange.responseBody = answer.toString('utf8');
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(answer);
        });
      });
      upReq.on('error', () => {
        exchange.status = 502;
        res.writeHead(502);
        res.end();
      });
      upReq.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}
