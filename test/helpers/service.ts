/**
 * Starts the real service (embedded store and FHIR server, real HTTP) in a temp data dir, and small
 * helpers to talk to it.
 */
import { PassThrough } from 'node:stream';
import { loadTestConfig } from '../../src/config.js';
import { startService, type RunningService, type StartOptions } from '../../src/service.js';

export interface TestService extends RunningService {
  dataDir: string;
  /** Every log line written so far. */
  logs: () => string;
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: any; text: string }>;
}

export async function startTestService(
  dataDir: string,
  env: Record<string, string> = {},
  options: Omit<StartOptions, 'logStream'> = {}
): Promise<TestService> {
  const stream = new PassThrough();
  let logText = '';
  stream.on('data', (chunk: Buffer) => {
    logText += chunk.toString('utf8');
  });
  const service = await startService(loadTestConfig(dataDir, { LOG_LEVEL: 'debug', ...env }), { ...options, logStream: stream });
  const api: TestService['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${service.apiTokens[0]}`,
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };
  return { ...service, dataDir, logs: () => logText, api };
}

/** Polls until fn returns a truthy value or the time is up. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a record's state on its target is `state`, and returns its GET body. */
export async function waitForState(svc: TestService, collection: string, id: string, state = 'synced'): Promise<any> {
  return waitFor(
    async () => {
      const r = await svc.api('GET', `/api/v1/${collection}/${id}`);
      return r.body?.sync?.[0]?.state === state ? r.body : undefined;
    },
    20_000,
    `${collection}/${id} to be ${state}`
  );
}
