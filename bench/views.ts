/**
 * View benchmark (not a test): `npm run bench:views -- [--sizes 1000,10000,100000,1000000]
 * [--formats csv,ndjson,json,parquet] [--phases evaluator,e2e,e2e-deid] [--compare OTHER_DIST]
 * [--store-root DIR]`.
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
 *
 * The store of a size is prepared once and shared by every format, phase and build. `--store-root DIR`
 * keeps it in DIR/<size> (reused by later runs: preparing 1,000,000 takes about half an hour).
 * `--compare OTHER_DIST` (another build's `dist`, e.g. a copy of main's) runs each end-to-end
 * measurement twice, alternately: the service of this build, then the service of the other build
 * (`OTHER_DIST/src/service.js`), on the same store, with this file as the harness; it prints the
 * ratio and whether both responses were byte for byte the same (SHA-256 of the body).
 * - `run`, `run-deid`: the same run without HTTP (startViewRun of the build under test over the store,
 *   src/analytics/run), for the 1,000,000 store, whose search index takes too long to build here.
 * BENCH_CPU_PROF=DIR writes a V8 CPU profile of each measured child there (bench/profile-summary.ts).
 * docs/benchmarks.md ("SQL-on-FHIR views", "Views at scale") has the figures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  /** e2e phases: which build's service answered (`this` or the --compare build). */
  build?: string;
  /** e2e phases: SHA-256 of the response body (the same rows in the same order give the same hash). */
  sha256?: string;
  /** Heap in use, heap reserved and memory outside the heap at the end (MB). */
  heapUsedMb?: number;
  heapTotalMb?: number;
  externalMb?: number;
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

async function e2ePhase(n: number, format: OutputFormat, deidentified: boolean, dir: string, build: string): Promise<Result> {
  const token = randomBytes(24).toString('hex');
  // The service and its configuration from the build under test (this one, or the --compare one).
  const srcDir = build === 'this' ? fileURLToPath(new URL('../src/', import.meta.url)) : join(resolve(build), 'src');
  const { startService: start } = (await import(pathToFileURL(join(srcDir, 'service.js')).href)) as typeof import('../src/service.js');
  const { loadConfig: config } = (await import(pathToFileURL(join(srcDir, 'config.js')).href)) as typeof import('../src/config.js');
  const svc = await start(config({ PORT: '0', DATA_DIR: dir, API_TOKENS: token, SYNC_ENABLED: 'false', LOG_LEVEL: 'warn' }));
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
    const output = await readOutput(res.body as unknown as AsyncIterable<Uint8Array>);
    return outputResult(deidentified ? 'e2e-deid' : 'e2e', format, n, output, measure(start), build);
  } finally {
    await svc.close();
  }
}

/**
 * The run without HTTP: startViewRun (src/analytics/run) of the build under test over the store
 * (its EmbeddedStoreSource, its views, its de-identifier under the store's key), every chunk read.
 * The same pipeline as the operation minus express; needs only the resources table, so the 1,000,000
 * store can be measured without its search index.
 */
async function runPhase(n: number, format: OutputFormat, deidentified: boolean, dir: string, build: string): Promise<Result> {
  const srcDir = build === 'this' ? fileURLToPath(new URL('../src/', import.meta.url)) : join(resolve(build), 'src');
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(srcDir, path)).href)) as T;
  const { startViewRun } = await load<typeof import('../src/analytics/run/run.js')>('analytics/run/run.js');
  const { loadViews: views } = await load<typeof import('../src/analytics/views.js')>('analytics/views.js');
  const { EmbeddedStoreSource } = await load<typeof import('../src/analytics/source.js')>('analytics/source.js');
  const deid = await load<typeof import('../src/deid/index.js')>('deid/index.js');
  const source = new EmbeddedStoreSource(join(dir, 'fhir.sqlite'));
  const transform = deid.createDeidentifier(deid.loadDeidPolicy(), readFileSync(join(dir, 'deid-key'), 'utf8').trim());
  const start = begin();
  const run = await startViewRun(
    { format, header: true, viewReference: 'ViewDefinition/collateral_sessions', deidentify: deidentified },
    { name: 'bench', roles: ['admin'] } as unknown as Parameters<typeof startViewRun>[1],
    { views: views(), source, transform }
  );
  const output = await readOutput(run.chunks);
  const measured = measure(start);
  source.close();
  return outputResult(deidentified ? 'run-deid' : 'run', format, n, output, measured, build);
}

/** Reads a run's output to its end: bytes, lines and the SHA-256 of the body (same rows, same order, same hash). */
async function readOutput(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: number; lines: number; sha256: string }> {
  let bytes = 0;
  let lines = 0;
  const digest = createHash('sha256');
  for await (const chunk of chunks) {
    bytes += chunk.length;
    digest.update(chunk);
    for (let i = 0; i < chunk.length; i++) {
      lines += chunk[i] === 10 ? 1 : 0;
    }
  }
  return { bytes, lines, sha256: digest.digest('hex').slice(0, 16) };
}

/** One measured run's result, with the heap at its end. */
function outputResult(
  phase: string,
  format: OutputFormat,
  n: number,
  output: { bytes: number; lines: number; sha256: string },
  measured: ReturnType<typeof measure>,
  build: string
): Result {
  const memory = process.memoryUsage();
  return {
    phase,
    format,
    resources: n,
    rows: format === 'csv' ? output.lines - 1 : format === 'ndjson' ? output.lines : n,
    bytes: output.bytes,
    ...measured,
    build: build === 'this' ? 'this' : 'compare',
    sha256: output.sha256,
    heapUsedMb: Math.round(memory.heapUsed / 2 ** 20),
    heapTotalMb: Math.round(memory.heapTotal / 2 ** 20),
    externalMb: Math.round(memory.external / 2 ** 20),
  };
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
    const build = arg('build', 'this');
    const dir = arg('dir', '');
    const result =
      phase === 'evaluator'
        ? evaluatorPhase(n, format)
        : phase.startsWith('run')
          ? await runPhase(n, format, phase === 'run-deid', dir, build)
          : await e2ePhase(n, format, phase === 'e2e-deid', dir, build);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const sizes = arg('sizes', '1000,10000,100000,1000000').split(',').map(Number);
  const formats = arg('formats', 'csv').split(',');
  const phases = arg('phases', 'evaluator,e2e,e2e-deid').split(',');
  const compare = arg('compare', '');
  const storeRoot = arg('store-root', '');
  const gitRev = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  })();
  console.log(`views benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), commit ${gitRev}${compare ? `, compared with ${compare}` : ''}`);
  console.log(
    'phase      format   build     resources       rows  seconds   res/s (wall)  res/cpu-s  peak RSS MB  heap used/total, external MB  load before -> after   (JSON.parse alone, res/cpu-s | body sha256)'
  );
  const child = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), fileURLToPath(import.meta.url), ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
  for (const n of sizes) {
    let dir = '';
    const e2e = phases.some((p) => p !== 'evaluator');
    if (e2e) {
      dir = storeRoot ? join(storeRoot, String(n)) : mkdtempSync(join(tmpdir(), 'collateral-views-bench-'));
      if (!existsSync(join(dir, 'fhir.sqlite'))) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const prepared = child(['--phase', 'prepare', '--n', String(n), '--dir', dir]);
        if (prepared.status !== 0) {
          console.log(`prepare ${n}: failed\n${String(prepared.stderr).slice(-2000)}`);
          continue;
        }
      }
    }
    for (const format of formats) {
      for (const p of phases) {
        const builds = p === 'evaluator' || !compare ? ['this'] : ['this', compare];
        const hashes: string[] = [];
        const rates: number[] = [];
        for (const build of builds) {
          const run = child(['--phase', p, '--n', String(n), '--format', format, '--dir', dir, '--build', build]);
          const line = String(run.stdout).trim().split('\n').pop() ?? '';
          if (run.status !== 0 || !line.startsWith('{')) {
            console.log(`${p} ${format} ${n} ${build}: failed\n${String(run.stderr).slice(-2000)}`);
            continue;
          }
          const r = JSON.parse(line) as Result;
          hashes.push(r.sha256 ?? '');
          rates.push(r.resources / r.cpuSeconds);
          console.log(
            [
              r.phase.padEnd(10),
              r.format.padEnd(7),
              (r.build ?? 'this').padEnd(8),
              String(r.resources).padStart(10),
              String(r.rows).padStart(10),
              r.seconds.toFixed(1).padStart(8),
              Math.round(r.resources / r.seconds).toString().padStart(14),
              Math.round(r.resources / r.cpuSeconds).toString().padStart(10),
              r.peakRssMb.toFixed(0).padStart(12),
              r.heapUsedMb !== undefined ? `${r.heapUsedMb}/${r.heapTotalMb}, ${r.externalMb}`.padStart(30) : ''.padStart(30),
              `  ${r.loadBefore} -> ${r.loadAfter}`,
              r.parseOnlyPerCpuSecond ? `  (${r.parseOnlyPerCpuSecond})` : '',
              r.sha256 ? `  ${r.sha256}` : '',
            ].join(' ')
          );
        }
        if (rates.length === 2) {
          console.log(`  -> this/compare: ${(rates[0] / rates[1]).toFixed(2)} x res/cpu-s; bodies ${hashes[0] === hashes[1] ? 'identical' : 'DIFFER'}`);
        }
      }
    }
    if (dir && !storeRoot) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
