/**
 * Backfill benchmark (not a test): `npm run bench:backfill -- [--sizes 1000,10000,100000] [--cpu-prof] [--keep]`.
 *
 * Each size runs in its own child process (so memory and event-loop figures are its own):
 * 1. the real service on the embedded defaults (embedded store, embedded FHIR server at /fhir reached
 *    over HTTP, default sync settings) in a temp folder; the Patients and Practitioners seeded (not timed);
 * 2. the records (bench/records.ts: copies of the example clients, all four kinds, with the examples'
 *    consent coverage, so some are held and psychotherapy notes blocked), streamed from an NDJSON file
 *    and imported as one import job (`importJob`); the clock runs from the first import until nothing is
 *    pending or failing;
 * 3. while it runs: the event-loop delay, peak RSS, /healthz and /sync/status answer times (measure.ts);
 * 4. the ceiling: what the sync wrote, read back per record, posted again to a fresh embedded server
 *    with the sync's entry shapes and Bundle size (ceiling.ts), and the ratio end to end / ceiling;
 * 5. a stop: the service is filled again and closed mid-backlog, as SIGTERM does (main.ts), timed.
 * The parent prints one table and the JSON of every run. docs/benchmarks.md has the figures.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type Config, loadConfig } from '../src/config.js';
import { startService, type RunningService } from '../src/service.js';
import { measureIngest, readBack } from './ceiling.js';
import { watch, type Watch } from './measure.js';
import { buildDataset } from './records.js';

const TOKEN = 'bench-token-0123456789abcdef';

interface RunResult {
  size: number;
  records: number;
  states: Record<string, number>;
  importMs: number;
  e2eMs: number;
  recordsPerSecond: number;
  msPerRecord: number;
  resources: number;
  resourcesPerSecond: number;
  watch: Watch;
  ceiling: { resources: number; ms: number; resourcesPerSecond: number; bundles: number };
  ratio: number;
  stopMs?: number;
  loadAverage: number[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

/**
 * Imports an NDJSON file as one import job (POST /api/v1/import with `Prefer: respond-async`, the body
 * streamed), then polls the job until it ends; returns the accepted count.
 */
async function importJob(url: string, file: string): Promise<number> {
  const jobUrl = await new Promise<string>((resolve, reject) => {
    const req = request(`${url}/api/v1/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson', 'content-length': String(statSync(file).size), prefer: 'respond-async' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      if (res.statusCode !== 202) {
        reject(new Error(`the import answered ${res.statusCode}`));
        return;
      }
      resolve(`${url}${res.headers['content-location']}`);
    });
    createReadStream(file).pipe(req);
  });
  for (;;) {
    const res = await fetch(jobUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    const job = (await res.json()) as { state: string; accepted: number; rejected: number };
    if (job.state !== 'running') {
      if (job.state !== 'completed' || job.rejected > 0) {
        throw new Error(`the import job ended ${job.state} with ${job.rejected} rejected`);
      }
      return job.accepted;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The embedded defaults: nothing configured but the port, the folder, a token and quieter logs. */
function benchConfig(dir: string): Config {
  return loadConfig({ PORT: '0', DATA_DIR: dir, API_TOKENS: TOKEN, LOG_LEVEL: 'warn' });
}

async function startBenchService(dir: string): Promise<RunningService> {
  return startService(benchConfig(dir), { logStream: process.stderr });
}

async function post(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  const json: unknown = await res.json();
  if (!res.ok) {
    throw new Error(`POST ${path} answered ${res.status}`);
  }
  return json;
}

/** Waits until nothing is pending or failing; returns the states. */
async function settled(svc: RunningService): Promise<Record<string, number>> {
  for (;;) {
    const states: Record<string, number> = {};
    for (const c of await svc.store.status.countSyncStates()) {
      if (c.target !== 'local') {
        states[c.state] = (states[c.state] ?? 0) + c.count;
      }
    }
    if (!states.pending && !states.failed) {
      return states;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** One size, in this process (the child). */
async function runOne(size: number, file: string, seedFile: string, dir: string): Promise<RunResult> {
  const seed = JSON.parse(readFileSync(seedFile, 'utf8')) as Bundle;
  const svc = await startBenchService(join(dir, 'service'));
  const seeded = (await post(svc.url, '/fhir', seed)) as Bundle;
  const seedResources = (seeded.entry ?? []).map((e) => e.resource as Resource);

  const stop = watch(svc.url, TOKEN);
  const start = performance.now();
  const records = await importJob(svc.url, file);
  const importMs = performance.now() - start;
  const states = await settled(svc);
  const e2eMs = performance.now() - start;
  const watched = stop();

  const ledger = await svc.store.ledger.listLedger('embedded');
  const written = await readBack(`${svc.url}/fhir`, ledger, { authorization: `Bearer ${TOKEN}` });
  const config = benchConfig(dir);
  await svc.close();

  const ceiling = await measureIngest(written, seedResources, { maxEntries: config.sync.maxBundleEntries, inFlight: config.sync.concurrency, dataDir: join(dir, 'ceiling') });
  const rate = (n: number, ms: number): number => Math.round((n / ms) * 10_000) / 10;
  const resources = ledger.length;
  const result: RunResult = {
    size,
    records,
    states,
    importMs: Math.round(importMs),
    e2eMs: Math.round(e2eMs),
    recordsPerSecond: rate(records, e2eMs),
    msPerRecord: Math.round((e2eMs / records) * 100) / 100,
    resources,
    resourcesPerSecond: rate(resources, e2eMs),
    watch: watched,
    ceiling: { resources: ceiling.resources, ms: Math.round(ceiling.ms), resourcesPerSecond: rate(ceiling.resources, ceiling.ms), bundles: ceiling.bundles },
    ratio: 0,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  result.ratio = Math.round((result.resourcesPerSecond / result.ceiling.resourcesPerSecond) * 1000) / 10;
  result.stopMs = await timeStop(file, seed, join(dir, 'stop'));
  return result;
}

/** Fills a fresh service with the backlog, lets it sync a few seconds, and times the stop (what SIGTERM runs). */
async function timeStop(file: string, seed: Bundle, dir: string): Promise<number> {
  const svc = await startBenchService(dir);
  await post(svc.url, '/fhir', seed);
  await importJob(svc.url, file);
  await new Promise((r) => setTimeout(r, 3000));
  const t = performance.now();
  await svc.close();
  return Math.round(performance.now() - t);
}

/** The parent: builds each size's data file, runs each size in a child process, prints the table. */
async function main(): Promise<void> {
  const one = arg('one');
  if (one) {
    const result = await runOne(Number(one), arg('file') as string, arg('seed') as string, arg('dir') as string);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    return;
  }
  const sizes = (arg('sizes') ?? '1000,10000,100000').split(',').map(Number);
  const keep = process.argv.includes('--keep');
  const profile = process.argv.includes('--cpu-prof');
  const root = mkdtempSync(join(tmpdir(), 'collateral-backfill-'));
  const results: RunResult[] = [];
  try {
    for (const size of sizes) {
      const dir = join(root, String(size));
      const perClient = buildDataset(3).lines.length / 3;
      const data = buildDataset(Math.max(1, Math.round(size / perClient)));
      const file = join(root, `${size}.ndjson`);
      const seedFile = join(root, `${size}.seed.json`);
      writeFileSync(file, data.lines.map((l) => JSON.stringify(l)).join('\n'));
      writeFileSync(seedFile, JSON.stringify(data.seed));
      const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(root, `profile-${size}`)}`] : [];
      const out = await child([...nodeArgs, fileURLToPath(import.meta.url), '--one', String(size), '--file', file, '--seed', seedFile, '--dir', dir]);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        throw new Error(`size ${size} gave no result`);
      }
      const r = JSON.parse(line.slice(7)) as RunResult;
      results.push(r);
      report([r]);
      if (profile) {
        console.log(`cpu profile: ${readdirSync(join(root, `profile-${size}`)).map((f) => join(root, `profile-${size}`, f)).join(' ')}`);
      }
    }
    console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`);
    report(results);
    console.log(JSON.stringify(results));
  } finally {
    if (keep || profile) {
      console.log(`kept ${root}`);
    } else {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${code}`))));
  });
}

function report(results: RunResult[]): void {
  console.log('| records | end states | e2e | records/s | ms/record | resources/s | ceiling res/s | e2e/ceiling | loop delay max (p99) | /healthz max | status max | peak RSS | stop | load avg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.records} | ${Object.entries(r.states).map(([k, v]) => `${v} ${k}`).join(', ')} | ${(r.e2eMs / 1000).toFixed(1)} s | ${r.recordsPerSecond} | ${r.msPerRecord} | ${r.resourcesPerSecond} | ${r.ceiling.resourcesPerSecond} | ${r.ratio} % | ${r.watch.loopMaxMs} ms (${r.watch.loopP99Ms}) | ${r.watch.healthzMaxMs} ms | ${r.watch.statusMaxMs} ms | ${r.watch.peakRssMiB} MiB | ${r.stopMs ?? '-'} ms | ${r.loadAverage.join(' ')} |`
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
