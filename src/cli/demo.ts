/**
 * `npm run demo` (`collateral-fhir demo`): sends the example dataset through a running service and
 * reports what happened to every record. It finds the service as `npm start` configures it (PORT, HOST,
 * DATA_DIR, API_TOKENS, or --url, --token, --data-dir), seeds the example Patients and Practitioners on
 * the FHIR server the service syncs to (its embedded /fhir, or FHIR_BASE_URL with the same FHIR_AUTH_*
 * settings; see demo-seed.ts), imports examples/records.ndjson, waits for the sync to settle, and prints
 * where every record went, with hints that name the real paths.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle } from '@medplum/fhirtypes';
import { projectRoot } from '../paths.js';
import { checkService, createApiClient, explainAnswer, ServiceUnreachableError, type ApiClient } from './api-client.js';
import { resolveServiceConnection, type ServiceConnection } from './cli-config.js';
import { demoTarget, seedExamples, targetCapabilities, type DemoTarget, type SeedResult } from './demo-seed.js';
import type { CommandIo } from './sync-command.js';

export const DEMO_USAGE = `  demo [--url URL] [--token TOKEN] [--data-dir DIR] [--timeout SECONDS]
                                      send examples/ through a running service: seed the example Patients and
                                      Practitioners on its FHIR target, import the records, report each one.
                                      The service is found as npm start configures it (PORT, HOST, DATA_DIR,
                                      API_TOKENS; FHIR_BASE_URL and FHIR_AUTH_* for its target).`;

const COLLECTION: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };
const STATES = ['synced', 'held', 'not-writable', 'blocked', 'failed', 'dead-letter', 'pending'] as const;

export interface DemoOptions {
  conn: ServiceConnection;
  io: CommandIo;
  /** How long to wait for the sync to settle. */
  timeoutMs: number;
  /** How often to look while waiting (tests go faster). */
  pollMs?: number;
}

/**
 * Runs `demo` with its command-line arguments.
 * @returns the exit code: 0 when every record settled and the target had everything, 1 otherwise, 2 for usage.
 */
export async function demoCommand(argv: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, token: { type: 'string' }, 'data-dir': { type: 'string' }, timeout: { type: 'string' } },
    }));
  } catch (err) {
    // parseArgs names the unknown option or the missing value.
    io.err(`${(err as Error).message}\nUsage:\n${DEMO_USAGE}`);
    return 2;
  }
  const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    io.err(`--timeout must be a number of seconds (got "${values.timeout}")`);
    return 2;
  }
  let conn: ServiceConnection;
  try {
    conn = resolveServiceConnection(io.env, { url: values.url, token: values.token, dataDir: values['data-dir'] });
  } catch (err) {
    io.err((err as Error).message);
    return 2;
  }
  try {
    return await runDemo({ conn, io, timeoutMs: timeoutS * 1000 });
  } catch (err) {
    if (err instanceof ServiceUnreachableError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

/** The demo itself, once the service's connection is known. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const { conn, io } = o;
  if (!conn.token) {
    io.err(`No API token for the service at ${conn.url} (URL from ${conn.urlSource}): ${conn.tokenSource}.`);
    return 2;
  }
  const api = createApiClient(conn.url, conn.token, { urlSource: conn.urlSource, tokenSource: conn.tokenSource });
  const problem = await checkService(api);
  if (problem) {
    io.err(problem);
    return 1;
  }
  io.out(`Service: ${conn.url} (URL from ${conn.urlSource}; token from ${conn.tokenSource})`);

  const target = await demoTarget(conn);
  if (typeof target === 'string') {
    io.err(target);
    return 1;
  }
  const caps = await targetCapabilities(target, conn.url);
  if (typeof caps === 'string') {
    io.err(caps);
    return 1;
  }
  io.out(`Target:  ${target.description}\n`);

  const root = projectRoot();
  const seed = await seedExamples(target.fhir, caps, JSON.parse(readFileSync(join(root, 'examples', 'fhir-seed.json'), 'utf8')) as Bundle);
  reportSeed(io, seed, target, conn);

  const ndjson = readFileSync(join(root, 'examples', 'records.ndjson'), 'utf8');
  const imported = await api.call('POST', '/api/v1/import', ndjson, 'application/x-ndjson');
  if (imported.status !== 200) {
    io.err(explainAnswer(api, imported));
    return 1;
  }
  const b = imported.body;
  io.out(`2. Imported examples/records.ndjson: ${b.accepted} accepted, ${b.unchanged} unchanged, ${b.rejected} rejected.`);
  for (const r of (b.results as { line: number; status: string; outcome?: { issue?: { details?: { text?: string } }[] } }[]).filter(
    (x) => x.status === 'rejected'
  )) {
    io.out(`   line ${r.line} rejected: ${(r.outcome?.issue ?? []).map((i) => i.details?.text).join('; ')}`);
  }

  const woken = await wakeHeldForIdentity(api, seed);
  if (woken > 0) {
    io.out(`   ${woken} record(s) held earlier for a missing Patient or Practitioner are due again now.`);
  }

  const items = (b.results as { kind: string; id: string; status: string }[]).filter((r) => r.status !== 'rejected');
  const started = Date.now();
  const states = await waitForSettled(api, items, o.timeoutMs, o.pollMs ?? 500);
  const unsettled = states.some((s) => s.sync.some((x) => x.state === 'pending' || x.state === 'failed'));
  io.out(`3. ${unsettled ? `Still moving after ${o.timeoutMs / 1000} s` : `Sync settled in ${((Date.now() - started) / 1000).toFixed(1)} s`}, record by record:\n`);
  for (const s of states) {
    for (const x of s.sync) {
      const where = x.resources?.map((r) => `${r.resourceType}/${r.id}/_history/${r.versionId}`).join(', ');
      const why = x.reason ?? x.reasonCode ?? '';
      io.out(`   ${s.kind.padEnd(11)} ${s.id.padEnd(20)} ${x.state.padEnd(12)} ${where ? `${where}${why ? `  (${why})` : ''}` : why}`);
    }
  }
  const count = (st: string): number => states.filter((s) => s.sync.some((x) => x.state === st)).length;
  io.out(`\n   ${STATES.map((st) => `${st} ${count(st)}`).join(', ')}`);
  const seedIncomplete = seed.some((r) => r.outcome !== 'found' && r.outcome !== 'created');
  io.out(
    '   Some records are held or blocked on purpose: the dataset has participants no consent covers, a consent revoked before it\n' +
      '   was sent and a psychotherapy note, which never leaves the practice.' +
      (seedIncomplete ? '\n   Records held with patient-not-found or practitioner-not-found wait for what step 1 says the target lacks.' : '')
  );
  io.out(hints(conn, target));
  return count('pending') + count('failed') + count('dead-letter') > 0 || seedIncomplete ? 1 : 0;
}

function reportSeed(io: CommandIo, seed: SeedResult[], target: DemoTarget, conn: ServiceConnection): void {
  io.out('1. The example Patients and Practitioners (examples/fhir-seed.json) on the target:');
  const words: Record<SeedResult['outcome'], string> = {
    found: 'already there',
    created: 'created',
    missing: 'MISSING',
    ambiguous: 'AMBIGUOUS',
    failed: 'FAILED',
  };
  for (const r of seed) {
    io.out(`   ${`${r.resourceType} ${r.label}`.padEnd(28)} ${words[r.outcome].padEnd(14)} ${r.detail}`);
  }
  const lacking = seed.filter((r) => r.outcome !== 'found' && r.outcome !== 'created');
  if (lacking.length === 0) {
    io.out('');
    return;
  }
  io.out(
    `   The target lacks ${lacking.length} of them: the records of those clients and clinicians will be held ` +
      '(patient-not-found, practitioner-not-found) until they exist; then run the demo again, or `collateral-fhir sync retry --reason patient-not-found`.'
  );
  if (target.embedded) {
    io.out(
      '   On the embedded server with an EHR-like EMBEDDED_FHIR_PROFILE, create them on its admin side, as registration would:\n' +
        `   ${conn.tokenShell}\n` +
        `   curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/fhir+json' -X POST '${target.baseUrl}/_admin' -d @examples/fhir-seed.json`
    );
  }
  io.out('');
}

/**
 * Records held because a Patient or Practitioner was missing wait with a growing backoff; once the demo
 * has found or created them, make those records due now instead of waiting (an unchanged re-import wakes nothing).
 */
async function wakeHeldForIdentity(api: ApiClient, seed: SeedResult[]): Promise<number> {
  if (!seed.some((r) => r.outcome === 'found' || r.outcome === 'created')) {
    return 0;
  }
  let woken = 0;
  for (const reason of ['patient-not-found', 'practitioner-not-found']) {
    const r = await api.call('POST', '/api/v1/sync/retry', JSON.stringify({ reason, state: 'held' }));
    woken += r.status === 200 ? Number(r.body?.woken ?? 0) : 0;
  }
  return woken;
}

interface RecordStates {
  kind: string;
  id: string;
  sync: { state: string; reason?: string; reasonCode?: string; resources?: { resourceType: string; id: string; versionId: string }[] }[];
}

/** Polls every record until none is pending or failing (being retried), or the time is up. */
async function waitForSettled(api: ApiClient, items: { kind: string; id: string }[], timeoutMs: number, pollMs: number): Promise<RecordStates[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states: RecordStates[] = [];
    for (const r of items) {
      const got = await api.call('GET', `/api/v1/${COLLECTION[r.kind]}/${encodeURIComponent(r.id)}`);
      states.push({ kind: r.kind, id: r.id, sync: got.status === 200 ? got.body.sync : [] });
    }
    const moving = states.some((s) => s.sync.some((x) => x.state === 'pending' || x.state === 'failed'));
    if (!moving || Date.now() > deadline) {
      return states;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Where to look next, with the real token source and URLs. */
function hints(conn: ServiceConnection, target: DemoTarget): string {
  const auth = '-H "Authorization: Bearer $TOKEN"';
  const fhir = target.embedded
    ? [
        `   curl ${auth} '${target.baseUrl}/Encounter?_count=5'`,
        `   curl ${auth} '${target.baseUrl}/DocumentReference?identifier=https://fhir.example-practice.org/sid/note|n-1001-01'`,
      ]
    : [`   The FHIR resources are on ${target.baseUrl} (read them with that server's own credentials).`];
  return [
    '\nWhere to look:',
    `   ${conn.tokenShell}`,
    `   curl ${auth} '${conn.url}/api/v1/notes/n-1001-01'`,
    `   curl ${auth} '${conn.url}/api/v1/sync/status'`,
    ...fhir,
  ].join('\n');
}
