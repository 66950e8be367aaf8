/**
 * Helpers of the analytics tests: the real service loaded with the demo dataset (examples/) through
 * its own API, and calls of $viewdefinition-run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import type { StartOptions } from '../../src/service.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';

export interface RunResult {
  status: number;
  contentType: string;
  text: string;
  bytes: Uint8Array;
  /** JSON body when there is one (rows of `json`, an OperationOutcome). */
  body: any;
}

/** A Parameters body from name/value pairs (`view` may be a ViewDefinition or `ViewDefinition/<name>`). */
export function parameters(p: { view: unknown; format: string; extra?: object[]; resources?: object[] }): object {
  return {
    resourceType: 'Parameters',
    parameter: [
      typeof p.view === 'string'
        ? { name: 'viewReference', valueReference: { reference: p.view } }
        : { name: 'viewResource', resource: p.view },
      { name: '_format', valueCode: p.format },
      ...(p.resources ?? []).map((r) => ({ name: 'resource', resource: r })),
      ...(p.extra ?? []),
    ],
  };
}

/** POST /fhir/$viewdefinition-run. */
export async function runView(svc: TestService, body: unknown, headers: Record<string, string> = {}, query = ''): Promise<RunResult> {
  const res = await fetch(`${svc.url}/fhir/$viewdefinition-run${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/fhir+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = Buffer.from(bytes).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, bytes, body: parsed };
}

/** NDJSON text to objects. */
export function ndjsonRows(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/**
 * Starts the service and sends the demo dataset through it as `npm run demo` does (seed the
 * Patients and Practitioners, import examples/records.ndjson), then waits until nothing is pending.
 */
export async function startDemoService(
  dataDir: string,
  env: Record<string, string> = {},
  options: Omit<StartOptions, 'logStream'> = {}
): Promise<TestService> {
  const svc = await startTestService(dataDir, env, options);
  const root = projectRoot();
  const seed = await svc.api('POST', '/fhir', readFileSync(join(root, 'examples', 'fhir-seed.json'), 'utf8'), {
    'content-type': 'application/fhir+json',
  });
  if (seed.status !== 200) {
    throw new Error(`seeding failed: HTTP ${seed.status}`);
  }
  const imported = await svc.api('POST', '/api/v1/import', readFileSync(join(root, 'examples', 'records.ndjson'), 'utf8'), {
    'content-type': 'application/x-ndjson',
  });
  if (imported.status !== 200 || imported.body.rejected !== 0) {
    throw new Error(`import failed: HTTP ${imported.status}`);
  }
  await waitFor(
    async () => {
      const s = await svc.api('GET', '/api/v1/sync/status');
      const pending = Object.values(s.body?.targets ?? {}).reduce((n: number, t: any) => n + (t.pending ?? 0), 0);
      return s.status === 200 && pending === 0;
    },
    120_000,
    'the demo dataset to sync'
  );
  return svc;
}
