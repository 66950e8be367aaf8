/**
 * The real service on the embedded defaults with the demo dataset (examples/) synced to the embedded FHIR
 * server, optionally with canary values injected, and small helpers for the async export protocol.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadTestConfig } from '../../src/config.js';
import { projectRoot } from '../../src/paths.js';
import { startService, type RunningService, type StartOptions } from '../../src/service.js';
import { waitFor } from '../helpers/service.js';

/** Values that must never appear in de-identified output. */
export const CANARY = {
  given: 'Quillonia',
  family: 'Zephyrcanary',
  phone: '+1-555-0166',
  note: 'CANARY-NOTE-7d3f1a9e the mother mentioned the family dog Biscuit',
};

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface ExportService extends RunningService {
  dataDir: string;
  logs: () => string;
  /** A request with the service's token; `path` may be absolute (a Content-Location). */
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;
}

/** Starts the real service with the given start options (clock, view evaluator, identified-access hook). */
export async function startExportService(dataDir: string, options: StartOptions = {}, env: Record<string, string> = {}): Promise<ExportService> {
  const stream = new PassThrough();
  let logText = '';
  stream.on('data', (chunk: Buffer) => {
    logText += chunk.toString('utf8');
  });
  const service = await startService(loadTestConfig(dataDir, { LOG_LEVEL: 'info', ...env }), { logStream: stream, ...options });
  const api: ExportService['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(path.startsWith('http') ? path : `${service.url}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        authorization: `Bearer ${service.apiTokens[0]}`,
        ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
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
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return { ...service, dataDir, logs: () => logText, api };
}

/** The demo dataset's import lines, with the canary in the mother's name and phone and in a note. */
export function demoLines(canary = false): string {
  const lines = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8').trim().split('\n');
  return `${lines
    .map((line) => {
      const entry = JSON.parse(line) as { kind: string; record: any };
      if (canary && entry.record.id === 'p-1001-mother') {
        entry.record.name = { given: [CANARY.given], family: CANARY.family };
        entry.record.telecom = [{ system: 'phone', value: CANARY.phone, use: 'mobile' }];
      }
      if (canary && entry.record.id === 'n-1001-01') {
        entry.record.text = `${entry.record.text} ${CANARY.note}`;
      }
      return JSON.stringify(entry);
    })
    .join('\n')}\n`;
}

/** Seeds the Patients and Practitioners, imports the demo records and waits until none is pending. */
export async function loadDemo(svc: ExportService, canary = false): Promise<void> {
  const seed = JSON.parse(readFileSync(join(projectRoot(), 'examples', 'fhir-seed.json'), 'utf8'));
  expect((await svc.api('POST', '/fhir', seed)).status).toBe(200);
  const imported = await svc.api('POST', '/api/v1/import', demoLines(canary), { 'content-type': 'application/x-ndjson' });
  expect(imported.body).toMatchObject({ rejected: 0 });
  const collection: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };
  const items = (imported.body.results as { kind: string; id: string }[]).map((r) => `/api/v1/${collection[r.kind]}/${r.id}`);
  await waitFor(
    async () => {
      const states = await Promise.all(items.map(async (path) => (await svc.api('GET', path)).body.sync as { state: string }[]));
      return states.every((s) => s.every((x) => x.state !== 'pending'));
    },
    60_000,
    'the demo records to leave pending'
  );
}

/** Polls a status URL until it stops answering 202; returns that answer and the in-progress answers seen. */
export async function pollUntilDone(svc: ExportService, statusUrl: string, timeoutMs = 30_000): Promise<{ final: Answer; progress: Answer[] }> {
  const progress: Answer[] = [];
  let final: Answer | undefined;
  await waitFor(
    async () => {
      const answer = await svc.api('GET', statusUrl);
      if (answer.status === 202) {
        progress.push(answer);
        return false;
      }
      final = answer;
      return true;
    },
    timeoutMs,
    `${statusUrl} to finish`
  );
  return { final: final as Answer, progress };
}

/** Parses NDJSON text. */
export function ndjson(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Kick-off headers. */
export const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };
