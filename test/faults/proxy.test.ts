/**
 * The fault-injection proxy in front of a real embedded FHIR server: seeded sequences are reproducible,
 * each fault looks to the client like what it stands for, and the *-after-forward faults really reached
 * the server (the unknown outcome a client must resolve by searching before resending).
 */
import type { Resource } from '@medplum/fhirtypes';
import { checkRates, startFaultProxy, type FaultKind, type FaultProxy, type FaultProxyOptions } from '../../src/devtools/fault-proxy.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';

const SYS = 'https://collateral.example/ids';
const FHIR = 'application/fhir+json';

const patient = (mrn: string): Resource => ({ resourceType: 'Patient', identifier: [{ system: SYS, value: mrn }] });

interface Seen {
  status?: number;
  retryAfter?: string | null;
  error?: string;
  ms: number;
}

/** One request through the proxy; a client that gives up after `timeoutMs`, as the sync does. */
async function call(url: string, init: RequestInit = {}, timeoutMs = 1500): Promise<Seen> {
  const start = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - start };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { error: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message), ms: Date.now() - start };
  }
}

/** POST through the proxy; a short timeoutMs only where the test expects the client to give up. */
const post = (url: string, r: Resource, timeoutMs = 5000): Promise<Seen> =>
  call(`${url}/${r.resourceType}`, { method: 'POST', headers: { 'content-type': FHIR }, body: JSON.stringify(r) }, timeoutMs);

/** Polls until fn() is true; the server may still be committing when the client has given up. */
async function eventually(fn: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

describe('fault proxy', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  const proxies: FaultProxy[] = [];
  const proxy = async (options: Omit<FaultProxyOptions, 'target'>): Promise<FaultProxy> => {
    const p = await startFaultProxy({ target: target.url, ...options });
    proxies.push(p);
    return p;
  };
  beforeAll(async () => {
    target = await startFhirTarget('full', tmp.dir);
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await target.close();
    tmp.cleanup();
  });

  test('a seed gives the same fault sequence every time; another seed another one', async () => {
    const rates = { throttle: 0.15, unavailable: 0.1, 'unavailable-no-retry-after': 0.1, slow: 0.1, 'reset-after-forward': 0.1, timeout: 0.05 };
    const run = async (seed: number): Promise<(FaultKind | 'pass')[]> => {
      const p = await proxy({ seed, rates, slowMs: 20 });
      for (let i = 0; i < 40; i++) {
        await call(`${p.url}/metadata`, {}, 300);
      }
      return p.stats().decisions;
    };
    const first = await run(42);
    expect(first).toHaveLength(40);
    expect(new Set(first).size).toBeGreaterThanOrEqual(5);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
  });

  test('each fault looks to the client like what it stands for, and the counters say what was injected', async () => {
    const p = await proxy({
      seed: 7,
      retryAfterSeconds: 3,
      slowMs: 150,
      rates: { throttle: 0.15, unavailable: 0.15, 'unavailable-no-retry-after': 0.15, slow: 0.15, timeout: 0.1, 'reset-after-forward': 0.1 },
    });
    const seen: Seen[] = [];
    for (let i = 0; i < 40; i++) {
      // The client waits long enough for slow answers even on a busy machine; only hangs time out.
      seen.push(await call(`${p.url}/metadata`, {}, 1200));
    }
    const stats = p.stats();
    stats.decisions.forEach((decision, i) => {
      const s = seen[i];
      switch (decision) {
        case 'throttle':
          return expect(s).toMatchObject({ status: 429, retryAfter: '3' });
        case 'unavailable':
          return expect(s).toMatchObject({ status: 503, retryAfter: '3' });
        case 'unavailable-no-retry-after':
          return expect(s).toMatchObject({ status: 503, retryAfter: null });
        case 'slow':
          expect(s.status).toBe(200);
          return expect(s.ms).toBeGreaterThanOrEqual(140);
        case 'timeout':
          return expect(s.error).toBe('timeout');
        case 'reset-after-forward':
          return expect(s.error).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed/);
        default:
          return expect(s.status).toBe(200);
      }
    });
    const count = (k: FaultKind | 'pass'): number => stats.decisions.filter((d) => d === k).length;
    expect(stats.requests).toBe(40);
    expect(stats.passed).toBe(count('pass'));
    for (const kind of ['throttle', 'unavailable', 'unavailable-no-retry-after', 'slow', 'timeout', 'reset-after-forward'] as const) {
      expect(stats.injected[kind]).toBe(count(kind));
      expect(stats.injected[kind]).toBeGreaterThan(0);
    }
    expect(stats.forwarded).toBe(count('pass') + count('slow') + count('reset-after-forward'));
  });

  test('reset-after-forward and timeout-after-forward: the server applied the request, the client never heard', async () => {
    const p = await proxy({ seed: 1, rates: { 'reset-after-forward': 1 } });
    const reset = await post(p.url, patient('MRN-RESET'));
    expect(reset.status).toBeUndefined();
    expect(reset.error).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed/);
    expect(await target.countByIdentifier('Patient', SYS, 'MRN-RESET')).toBe(1);

    p.setRates({ 'timeout-after-forward': 1 });
    const hung = await post(p.url, patient('MRN-HUNG'), 500);
    expect(hung.error).toBe('timeout');
    expect(await eventually(async () => (await target.countByIdentifier('Patient', SYS, 'MRN-HUNG')) === 1)).toBe(true);
    expect(p.stats()).toMatchObject({ forwarded: 2, injected: { 'reset-after-forward': 1, 'timeout-after-forward': 1 } });
  });

  test('timeout, 429 and 503 never reach the server', async () => {
    const p = await proxy({ seed: 1, rates: { timeout: 1 } });
    expect((await post(p.url, patient('MRN-T'), 500)).error).toBe('timeout');
    p.setRates({ throttle: 1 });
    expect(await post(p.url, patient('MRN-T'))).toMatchObject({ status: 429, retryAfter: '1' });
    p.setRates({ unavailable: 1 });
    expect(await post(p.url, patient('MRN-T'))).toMatchObject({ status: 503, retryAfter: '1' });
    expect(p.stats().forwarded).toBe(0);
    expect(await target.countByIdentifier('Patient', SYS, 'MRN-T')).toBe(0);
    p.setRates({});
    expect((await post(p.url, patient('MRN-T'))).status).toBe(201);
    expect(await target.countByIdentifier('Patient', SYS, 'MRN-T')).toBe(1);
  });

  test('injected errors are OperationOutcomes', async () => {
    const p = await proxy({ seed: 1, rates: { throttle: 1 } });
    const res = await fetch(`${p.url}/Patient`);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] });
  });

  test('the client stays behind the proxy: Location, fullUrls and paging links name the proxy', async () => {
    const p = await proxy({ seed: 1 });
    const created = await fetch(`${p.url}/Patient`, { method: 'POST', headers: { 'content-type': FHIR }, body: JSON.stringify(patient('MRN-LINK')) });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(new RegExp(`^${p.url}/Patient/`));
    await target.seed([patient('MRN-LINK-2')]);
    const page: any = await (await fetch(`${p.url}/Patient?_count=1`)).json();
    expect(page.entry[0].fullUrl.startsWith(`${p.url}/Patient/`)).toBe(true);
    expect(page.link.find((l: { relation: string }) => l.relation === 'next').url.startsWith(`${p.url}/Patient?`)).toBe(true);
    expect(JSON.stringify(page)).not.toContain(target.url);
  });

  test('applies: requests it excludes pass through and draw nothing', async () => {
    const p = await proxy({ seed: 1, rates: { unavailable: 1 }, applies: (method) => method !== 'GET' });
    expect((await call(`${p.url}/metadata`)).status).toBe(200);
    expect((await post(p.url, patient('MRN-A'))).status).toBe(503);
    expect(p.stats()).toMatchObject({ requests: 2, passed: 1, decisions: ['unavailable'] });
  });

  test('close() ends hanging requests at once', async () => {
    const p = await startFaultProxy({ target: target.url, seed: 1, rates: { timeout: 1 } });
    const pending = call(`${p.url}/metadata`, {}, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await p.close();
    const seen = await pending;
    expect(seen.status).toBeUndefined();
    expect(seen.error).not.toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('rates are validated', () => {
    expect(() => checkRates({ throttle: 0.6, unavailable: 0.6 })).toThrow(/add up to 1.2/);
    expect(() => checkRates({ throttle: -0.1 })).toThrow(/from 0 to 1/);
    expect(() => checkRates({ boom: 0.1 } as never)).toThrow(/Unknown fault "boom"/);
    expect(checkRates({ slow: 0.5, 'reset-after-forward': 0.5 })).toEqual({ slow: 0.5, 'reset-after-forward': 0.5 });
  });
});
