/**
 * A fault-injection HTTP proxy for loopback, between the service and a FHIR server: it passes requests
 * through, or answers 429/503 itself, delays answers, hangs, or resets the connection after the server
 * has applied the request (the "unknown outcome" a client must resolve by searching before resending).
 *
 * Faults are drawn from a seeded PRNG, one draw per request in arrival order, so a seed gives the same
 * sequence of decisions every run (with one client in flight, the same request gets the same fault).
 * Responses are buffered, and the target's origin in bodies and Location headers is rewritten to the
 * proxy's, so paging links and fullUrls keep the client behind the proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperationOutcome } from '@medplum/fhirtypes';

/**
 * - throttle: 429 with Retry-After, not forwarded
 * - unavailable: 503 with Retry-After, not forwarded
 * - unavailable-no-retry-after: 503 without Retry-After, not forwarded
 * - slow: forwarded, the answer delayed by slowMs
 * - timeout: not forwarded, no answer until the client gives up
 * - timeout-after-forward: forwarded and applied, no answer until the client gives up
 * - reset-after-forward: forwarded and applied, then the connection is reset (TCP RST)
 */
export const FAULT_KINDS = [
  'throttle',
  'unavailable',
  'unavailable-no-retry-after',
  'slow',
  'timeout',
  'timeout-after-forward',
  'reset-after-forward',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Probability of each fault per request (0..1, summing to at most 1); the rest pass through. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxyOptions {
  /** The URL the proxy stands in for, e.g. `http://127.0.0.1:4000/fhir`; paths are forwarded as they come. */
  target: string;
  /** Seed of the fault sequence (any 32-bit integer). */
  seed: number;
  rates?: FaultRates;
  /** Retry-After of throttle and unavailable, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Delay of a slow answer. Default 1500 ms. */
  slowMs?: number;
  /** Which requests may get a fault (the others pass and draw nothing). Default: all. */
  applies?: (method: string, path: string) => boolean;
  /** Default 0: any free port on 127.0.0.1. */
  port?: number;
}

export interface FaultStats {
  requests: number;
  /** Requests that reached the target (passed, slow, *-after-forward). */
  forwarded: number;
  passed: number;
  injected: Record<FaultKind, number>;
  /** Each faultable request's decision, in arrival order. */
  decisions: (FaultKind | 'pass')[];
  /** Requests the target could not be reached for (answered 502). */
  upstreamErrors: number;
}

export interface FaultProxy {
  /** Use in place of the target URL (same path, proxy origin). */
  url: string;
  stats(): FaultStats;
  /** Changes the rates from the next request on; the PRNG sequence continues. */
  setRates(rates: FaultRates): void;
  /** Stops listening, drops every connection (hanging ones included). */
  close(): Promise<void>;
}

/** Headers that describe one connection, not the message (RFC 9110 7.6.1); never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

interface Upstream {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

/**
 * Starts the proxy on 127.0.0.1.
 * @param options - Target, seed, rates and timings.
 * @returns The proxy URL, stats(), setRates() and close().
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  let rates = checkRates(options.rates ?? {});
  const random = mulberry32(options.seed);
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const slowMs = options.slowMs ?? 1500;
  const agent = new http.Agent({ keepAlive: true });
  const timers = new Set<NodeJS.Timeout>();
  const stats: FaultStats = { requests: 0, forwarded: 0, passed: 0, injected: zeroCounts(), decisions: [], upstreamErrors: 0 };
  let proxyOrigin = '';

  const decide = (method: string, path: string): FaultKind | 'pass' => {
    if (options.applies && !options.applies(method, path)) {
      return 'pass';
    }
    const draw = random();
    let edge = 0;
    let decision: FaultKind | 'pass' = 'pass';
    for (const kind of FAULT_KINDS) {
      edge += rates[kind] ?? 0;
      if (draw < edge) {
        decision = kind;
        break;
      }
    }
    stats.decisions.push(decision);
    return decision;
  };

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { host: target.host, 'content-length': body.length };
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) {
          headers[name] = value;
        }
      }
      const up = http.request(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        }
      );
      up.on('error', reject);
      up.end(body);
      stats.forwarded++;
    });

  const reply = (res: http.ServerResponse, upstream: Upstream): void => {
    const isJson = /json/i.test(String(upstream.headers['content-type'] ?? ''));
    const body = isJson ? Buffer.from(upstream.body.toString('utf8').split(target.origin).join(proxyOrigin), 'utf8') : upstream.body;
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (HOP_BY_HOP.has(name) || value === undefined) {
        continue;
      }
      const rewritten = name === 'location' || name === 'content-location' ? String(value).split(target.origin).join(proxyOrigin) : value;
      res.setHeader(name, rewritten);
    }
    res.setHeader('content-length', body.length);
    res.writeHead(upstream.status);
    res.end(body);
  };

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    stats.requests++;
    const decision = decide(req.method ?? 'GET', (req.url ?? '/').split('?')[0]);
    if (decision === 'pass') {
      stats.passed++;
    } else {
      stats.injected[decision]++;
    }
    switch (decision) {
      case 'throttle':
        return answer(res, 429, { 'retry-after': retryAfter }, outcome('throttled', 'Too many requests (injected)'));
      case 'unavailable':
        return answer(res, 503, { 'retry-after': retryAfter }, outcome('transient', 'Service unavailable (injected)'));
      case 'unavailable-no-retry-after':
        return answer(res, 503, {}, outcome('transient', 'Service unavailable (injected)'));
      case 'timeout':
        return; // the socket stays open until the client gives up or the proxy closes
    }
    let upstream: Upstream;
    try {
      upstream = await forward(req, body);
    } catch {
      stats.upstreamErrors++;
      return answer(res, 502, {}, outcome('transient', 'The FHIR server could not be reached through the fault proxy'));
    }
    switch (decision) {
      case 'timeout-after-forward':
        return;
      case 'reset-after-forward':
        // The server has applied the request; the client only learns that the connection died.
        req.socket.resetAndDestroy();
        return;
      case 'slow':
        return later(slowMs, () => reply(res, upstream));
      default:
        return reply(res, upstream);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  proxyOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${proxyOrigin}${target.pathname.replace(/\/+$/, '')}`,
    stats: () => ({ ...stats, injected: { ...stats.injected }, decisions: [...stats.decisions] }),
    setRates: (next) => {
      rates = checkRates(next);
    },
    close: async () => {
      for (const t of timers) {
        clearTimeout(t);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}

function answer(res: http.ServerResponse, status: number, headers: Record<string, string>, body: OperationOutcome): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/fhir+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(code: 'throttled' | 'transient', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function zeroCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

/**
 * Validates fault rates.
 * @param rates - Rates per fault kind.
 * @returns The same rates.
 * @throws Error for an unknown kind, a rate outside 0..1, or a sum above 1.
 */
export function checkRates(rates: FaultRates): FaultRates {
  let sum = 0;
  for (const [kind, rate] of Object.entries(rates)) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`Unknown fault "${kind}" (known: ${FAULT_KINDS.join(', ')})`);
    }
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new Error(`The rate of ${kind} must be a number from 0 to 1`);
    }
    sum += rate;
  }
  if (sum > 1 + 1e-9) {
    throw new Error(`Fault rates add up to ${sum}; at most 1`);
  }
  return { ...rates };
}

/** mulberry32: a tiny, well-mixed 32-bit PRNG; enough for fault sequences, not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
