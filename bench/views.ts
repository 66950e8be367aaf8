/**
 * View benchmark (not a test): `npm run bench:views -- [--sizes 1000,10000,100000,1000000] [--formats csv,parquet] [--phases evaluator,e2e,e2e-deid]`.
 *
 * Each measurement runs in a child process of its own, so its peak RSS is its own:
 * - `evaluator`: the collateral_sessions view (views/) on N Encounters shaped like our mapping's
 *   output, each parsed from JSON text, evaluated and encoded as CSV, in one stream;
 * - `e2e`: the same N Encounters written into a fresh embedded FHIR store (fhir.sqlite, the embedded
 *   server's schema) and indexed by the service, in a separate `prepare` process (not timed), then the
 *   real service started on that store and POST /fhir/$viewdefinition-run asked
 *   for the view over the store, identified (`deidentify=false`), its response read to the end;
 * - `e2e-deid`: the same run de-identified (the default): every Encounter through the safe-harbor policy
 *   before the view sees it, side by side with `e2e`, so the ratio is the cost of de-identification.
 * Prints resources/s (wall), resources per CPU-second, peak RSS and the load average before and after.
 * docs/benchmarks.md ("SQL-on-FHIR views") has the figures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import { createEncoder, type OutputFormat } from '../src/analytics/output/index.js';
import { evaluateView } from '../src/analytics/sof/evaluate.js';
import { loadViews } from '../src/analytics/views.js';
import { loadConfig } from '../src/config.js';
import { openFhirDatabase } from '../src/fhir-server/index.js';
import { definitionsFingerprint } from '../src/fhir-server/search-params.js';
import { startService } from '../src/service.js';
import { encounter } from './view-workload.js';

interface Result {
  phase: string;
  format: string;
  resources: number;
  rows: number;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  loadBefore: string;
  loadAfter: string;
  /** Evaluator phase: JSON.parse of the same texts alone, per CPU-second (the floor any evaluator pays). */
  parseOnlyPerCpuSecond?: number;
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function measure(start: { wall: bigint; cpu: NodeJS.CpuUsage; load: string }): Pick<Result, 'seconds' | 'cpuSeconds' | 'peakRssMb' | 'loadBefore' | 'loadAfter'> {
  const cpu = process.cpuUsage(start.cpu);
  return {
    seconds: Number(process.hrtime.bigint() - start.wall) / 1e9,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    loadBefore: start.load,
    loadAfter: load(),
  };
}

const begin = (): { wall: bigint; cpu: NodeJS.CpuUsage; load: string } => ({ wall: process.hrtime.bigint(), cpu: process.cpuUsage(), load: load() });

/** The evaluator alone: parse, evaluate, encode, N times. */
function evaluatorPhase(n: number, format: OutputFormat): Result {
  const view = loadViews().resolve('collateral_sessions')!.view;
  // 1,000 distinct texts, reused: the generator's cost stays out of the figure.
  const texts = Array.from({ length: 1000 }, (_, i) => JSON.stringify(encounter(i)));
  const encoder = createEncoder(format, { columns: view.columns });
  const start = begin();
  let rows = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const resource = JSON.parse(texts[i % 1000]) as Resource;
    resource.id = `enc-${i}`;
    for (const row of evaluateView(view, resource)) {
      rows++;
      bytes += encoder.row(row)?.length ?? 0;
    }
  }
  bytes += encoder.end().length;
  const result = measure(start);
  const parseStart = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    JSON.parse(texts[i % 1000]);
  }
  const parseCpu = process.cpuUsage(parseStart);
  return { phase: 'evaluator', format, resources: n, rows, bytes, ...result, parseOnlyPerCpuSecond: Math.round(n / ((parseCpu.user + parseCpu.system) / 1e6)) };
}

/**
 * Waits until the service has indexed the rows written behind its back (it re-indexes them in the
 * background at start, search-reindex.ts): otherwise that work would run during the timed view run.
 */
async function searchIndexBuilt(dbPath: string): Promise<void> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const fingerprint = definitionsFingerprint();
    const read = db.prepare<[string], { value: string }>('SELECT value FROM search_meta WHERE key = ?');
    while (read.get('fingerprint')?.value !== fingerprint) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    db.close();
  }
}

/** End to end: the store written, the service started on it, the operation's response read to the end. */
/**
 * Writes N Encounters into a fresh store in `dir` and lets the service index them (it re-indexes rows
 * written behind its back in the background at start), in a process of its own, so neither the writes
 * nor the index count in the measured process's time or peak RSS.
 */
async function preparePhase(n: number, dir: string): Promise<void> {
  const db = openFhirDatabase(join(dir, 'fhir.sqlite'));
  const insert = db.prepare('INSERT INTO resources (resource_type, id, version_id, last_updated, content, deleted) VALUES (?, ?, 1, ?, ?, 0)');
  for (let from = 0; from < n; from += 10_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + 10_000); i++) {
        const r = encounter(i);
        insert.run('Encounter', r.id, r.meta?.lastUpdated, JSON.stringify(r));
      }
    })();
  }
  db.close();
  const svc = await startService(loadConfig({ PORT: '0', DATA_DIR: dir, API_TOKENS: randomBytes(24).toString('hex'), SYNC_ENABLED: 'false', LOG_LEVEL: 'warn' }));
  try {
    await searchIndexBuilt(join(dir, 'fhir.sqlite'));
  } finally {
    await svc.close();
  }
}

async function e2ePhase(n: number, format: OutputFormat, deidentified: boolean, dir: string): Promise<Result> {
  const token = randomBytes(24).toString('hex');
  const svc = await startService(loadConfig({ PORT: '0', DATA_DIR: dir, API_TOKENS: token, SYNC_ENABLED: 'false', LOG_LEVEL: 'warn' }));
  try {
    const start = begin();
    const res = await fetch(`${svc.url}/fhir/$viewdefinition-run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'viewReference', valueReference: { reference: 'ViewDefinition/collateral_sessions' } },
          { name: '_format', valueCode: format },
          ...(deidentified ? [] : [{ name: 'deidentify', valueBoolean: false }]),
        ],
      }),
    });
    if (res.status !== 200 || !res.body) {
      throw new Error(`the run answered HTTP ${res.status}: ${await res.text()}`);
    }
    let bytes = 0;
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        lines += chunk[i] === 10 ? 1 : 0;
      }
    }
    return { phase: deidentified ? 'e2e-deid' : 'e2e', format, resources: n, rows: format === 'csv' ? lines - 1 : format === 'ndjson' ? lines : n, bytes, ...measure(start) };
  } finally {
    await svc.close();
  }
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

async function main(): Promise<void> {
  const phase = arg('phase', '');
  if (phase) {
    // A child: one measurement, its result as one JSON line.
    const n = Number(arg('n', '1000'));
    const format = arg('format', 'csv') as OutputFormat;
    if (phase === 'prepare') {
      await preparePhase(n, arg('dir', ''));
      return;
    }
    const result = phase === 'evaluator' ? evaluatorPhase(n, format) : await e2ePhase(n, format, phase === 'e2e-deid', arg('dir', ''));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const sizes = arg('sizes', '1000,10000,100000,1000000').split(',').map(Number);
  const formats = arg('formats', 'csv').split(',');
  const gitRev = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  })();
  console.log(`views benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), commit ${gitRev}`);
  console.log('phase      format   resources       rows  seconds   res/s (wall)  res/cpu-s  peak RSS MB  load before -> after   (JSON.parse alone, res/cpu-s)');
  for (const format of formats) {
    for (const n of sizes) {
      for (const p of arg('phases', 'evaluator,e2e,e2e-deid').split(',')) {
        const dir = p === 'evaluator' ? '' : mkdtempSync(join(tmpdir(), 'collateral-views-bench-'));
        const run = (phase: string) =>
          spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--phase', phase, '--n', String(n), '--format', format, '--dir', dir], {
            encoding: 'utf8',
            maxBuffer: 1 << 24,
          });
        const prepared = dir ? run('prepare') : undefined;
        const child = prepared && prepared.status !== 0 ? prepared : run(p);
        if (dir) {
          rmSync(dir, { recursive: true, force: true });
        }
        const line = child.stdout.trim().split('\n').pop() ?? '';
        if (child.status !== 0 || !line.startsWith('{')) {
          console.log(`${p} ${format} ${n}: failed\n${child.stderr.slice(-2000)}`);
          continue;
        }
        const r = JSON.parse(line) as Result;
        console.log(
          [
            r.phase.padEnd(10),
            r.format.padEnd(7),
            String(r.resources).padStart(10),
            String(r.rows).padStart(10),
            r.seconds.toFixed(1).padStart(8),
            Math.round(r.resources / r.seconds).toString().padStart(14),
            Math.round(r.resources / r.cpuSeconds).toString().padStart(10),
            r.peakRssMb.toFixed(0).padStart(12),
            `  ${r.loadBefore} -> ${r.loadAfter}`,
            r.parseOnlyPerCpuSecond ? `  (${r.parseOnlyPerCpuSecond})` : '',
          ].join(' ')
        );
      }
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
