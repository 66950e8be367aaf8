/**
 * Intake benchmark (not a test): `npm run bench:intake -- [--duration 10] [--connections 10,50] [--sync off,on]`.
 *
 * In one run, side by side: single-record PUTs (all four kinds, a new id each, so every one is a
 * write) against
 *   - the real service (built, `node dist/src/main.js`, its own process) on the embedded defaults
 *     (SQLite WAL synchronous=FULL, embedded FHIR server), with the sync disabled and enabled;
 *   - a bare express + ajv app (bench/bare-intake-app.ts: same body parser, same validation, no store).
 * The load generator (autocannon) runs in this process; each server is its own process. Reported per
 * connection count: PUT/s, p50 and p99 latency, non-2xx, and the ratio service / bare; the load average
 * beside each figure. docs/benchmarks.md has the results.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { type Child, loadAverage, serviceReady, startScript } from './child.js';
import { type Figures, measure } from './put-load.js';
import { buildDataset } from './records.js';

function option(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

async function startService(dir: string, token: string, sync: boolean): Promise<Child> {
  const svc = await startScript(
    join(projectRoot(), 'dist', 'src', 'main.js'),
    // Capacity is measured, not the per-credential limit (6,000 a minute by default).
    { PORT: '0', DATA_DIR: join(dir, `service-sync-${sync ? 'on' : 'off'}`), API_TOKENS: token, SYNC_ENABLED: String(sync), RATE_LIMIT_PER_MINUTE: '0' },
    serviceReady(),
    join(dir, `service-sync-${sync ? 'on' : 'off'}.log`),
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  );
  // The Patients and therapists of the benchmark clients exist on the target, as in a real deployment.
  const { seed } = buildDataset(3);
  const res = await fetch(`${svc.url}/fhir`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(seed),
  });
  await res.arrayBuffer();
  return svc;
}

function row(name: string, f: Figures, bare?: Figures): string {
  const ratio = bare ? (f.rps / bare.rps).toFixed(2) : '1';
  const cpuRatio = bare ? (bare.cpuUs / f.cpuUs).toFixed(2) : '1';
  return `| ${name} | ${f.rps.toFixed(0)} | ${f.p50.toFixed(1)} | ${f.p99.toFixed(1)} | ${f.non2xx} | ${f.errors} | ${ratio} | ${f.cpuUs.toFixed(0)} | ${cpuRatio} | ${f.load} |`;
}

async function main(): Promise<void> {
  const duration = Number(option('duration', '10'));
  const connectionCounts = option('connections', '10,50').split(',').map(Number);
  const syncModes = option('sync', 'off,on').split(',').map((s) => s === 'on');
  const dir = mkdtempSync(join(tmpdir(), 'collateral-bench-intake-'));
  const token = randomBytes(24).toString('hex');
  const lines: string[] = [];
  const bare = await startScript(join(projectRoot(), 'dist', 'bench', 'bare-intake-app.js'), {}, /listening (\d+)/, join(dir, 'bare.log'));
  try {
    console.log(`Node ${process.version}, ${cpus().length} cores, ${duration} s per measurement; load average before: ${loadAverage()}`);
    for (const sync of syncModes) {
      const svc = await startService(dir, token, sync);
      try {
        // Warm-up (JIT, SQLite page cache), not counted.
        await measure(bare, token, 10, 2, `w${sync}`);
        await measure(svc, token, 10, 2, `w${sync}s`);
        for (const c of connectionCounts) {
          const b = await measure(bare, token, c, duration, `bare${c}${sync}`);
          const s = await measure(svc, token, c, duration, `svc${c}${sync}`);
          lines.push(row(`bare express + ajv, ${c} connections`, b), row(`service, sync ${sync ? 'enabled' : 'disabled'}, ${c} connections`, s, b));
          console.log(lines.slice(-2).join('\n'));
        }
      } finally {
        await svc.stop();
      }
    }
  } finally {
    await bare.stop();
  }
  console.log('\n| Server | PUT/s | p50 ms | p99 ms | non-2xx | errors | ratio to bare (PUT/s) | server CPU µs per PUT | ratio to bare (CPU) | load average (1 5 15 min) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  console.log(lines.join('\n'));
  if (process.argv.includes('--keep')) {
    console.log(`kept ${dir}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
