/**
 * Import benchmark (not a test): `npm run bench:import -- [--lines 10000,100000,1000000] [--sync off|on] [--keep]`.
 *
 * For each size: writes an NDJSON file of that many lines (bench/records.ts: the example clients copied
 * with their own MRNs and ids, all four kinds, ~470 bytes a line), starts the built service as its own
 * process on the embedded defaults (sync disabled unless `--sync on`, so that the figure is the
 * intake's), streams the file to POST /api/v1/import with `Prefer: respond-async`, and polls the job
 * until it ends. Reported: records/s (accepted lines / the job's own start-to-finish time), the service
 * process's peak RSS (VmHWM), its event-loop delay max and p99 during the import (bench/loop-monitor.ts),
 * and the progress seen by the polls. docs/benchmarks.md has the results.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { cpuMsOf, loadAverage, memoryOf, serviceReady, startScript } from './child.js';
import { datasetLines } from './records.js';

function option(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

/** Writes `lines` lines of the synthetic dataset; returns the file's size in bytes. */
async function writeDataset(file: string, lines: number): Promise<number> {
  const out = createWriteStream(file);
  let n = 0;
  for (const line of datasetLines(Math.ceil(lines / 10))) {
    if (n++ >= lines) {
      break;
    }
    if (!out.write(`${JSON.stringify(line)}\n`)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return statSync(file).size;
}

/** Streams the file as an import job; resolves with the job's URL once the 202 has come. */
function startJob(url: string, token: string, file: string, size: number): Promise<{ jobUrl: string; uploaded: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/import`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/x-ndjson',
        'content-length': String(size),
        prefer: 'respond-async',
      },
    });
    const uploaded = new Promise<void>((done) => req.once('finish', () => done()));
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      if (res.statusCode !== 202) {
        reject(new Error(`the import answered ${res.statusCode}`));
        return;
      }
      resolve({ jobUrl: `${url}${res.headers['content-location']}`, uploaded });
    });
    createReadStream(file).pipe(req);
  });
}

interface Row {
  lines: number;
  mb: number;
  seconds: number;
  recordsPerSecond: number;
  accepted: number;
  rejected: number;
  peakRssMb: number;
  loopMaxMs: number;
  loopP99Ms: number;
  polls: number;
  state: string;
  /** The service process's CPU time per line, in microseconds: steadier than records/s on a shared machine. */
  cpuUsPerLine: number;
  load: string;
}

async function runSize(dir: string, lines: number, sync: boolean): Promise<Row> {
  const file = join(dir, `import-${lines}.ndjson`);
  const size = await writeDataset(file, lines);
  const token = randomBytes(24).toString('hex');
  const loopFile = join(dir, `loop-${lines}.json`);
  const svc = await startScript(
    join(projectRoot(), 'dist', 'src', 'main.js'),
    { PORT: '0', DATA_DIR: join(dir, `service-${lines}`), API_TOKENS: token, SYNC_ENABLED: String(sync), LOOP_MONITOR_FILE: loopFile },
    serviceReady(),
    join(dir, `service-${lines}.log`),
    [
      '--import',
      join(projectRoot(), 'dist', 'bench', 'loop-monitor.js'),
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ]
  );
  const pid = svc.child.pid as number;
  try {
    svc.child.kill('SIGUSR2'); // the event-loop delay from here on
    await new Promise((r) => setTimeout(r, 200));
    const cpuBefore = await cpuMsOf(pid);
    const { jobUrl, uploaded } = await startJob(svc.url, token, file, size);
    let polls = 0;
    let job: Record<string, any> = {};
    let last = { at: Date.now(), lines: 0 };
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      job = (await (await fetch(jobUrl, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, any>;
      polls++;
      const mem = await memoryOf(pid);
      const now = Date.now();
      const rate = ((job.linesRead - last.lines) * 1000) / (now - last.at);
      last = { at: now, lines: job.linesRead };
      console.log(
        `  ${job.state} line ${job.linesRead} of ${lines} (${rate.toFixed(0)} lines/s), accepted ${job.accepted}, rejected ${job.rejected}, RSS ${((mem?.rss ?? 0) / 1048576).toFixed(0)} MB`
      );
      if (job.state !== 'running') {
        break;
      }
    }
    await uploaded;
    const seconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
    const loop = JSON.parse(readFileSync(loopFile, 'utf8')) as { maxMs: number; p99Ms: number };
    const mem = await memoryOf(pid);
    const cpuMs = (await cpuMsOf(pid)) - cpuBefore;
    return {
      cpuUsPerLine: (cpuMs * 1000) / lines,
      lines,
      mb: size / 1048576,
      seconds,
      recordsPerSecond: job.accepted / seconds,
      accepted: job.accepted,
      rejected: job.rejected,
      peakRssMb: (mem?.peak ?? 0) / 1048576,
      loopMaxMs: loop.maxMs,
      loopP99Ms: loop.p99Ms,
      polls,
      state: job.state,
      load: loadAverage(),
    };
  } finally {
    await svc.stop();
    rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  const sizes = option('lines', '10000,100000,1000000').split(',').map(Number);
  const sync = option('sync', 'off') === 'on';
  const dir = mkdtempSync(join(tmpdir(), 'collateral-bench-import-'));
  const rows: Row[] = [];
  try {
    console.log(`Node ${process.version}, ${cpus().length} cores; sync ${sync ? 'enabled' : 'disabled'}; load average before: ${loadAverage()}`);
    for (const lines of sizes) {
      console.log(`${lines} lines:`);
      rows.push(await runSize(dir, lines, sync));
    }
  } finally {
    if (process.argv.includes('--keep')) {
      console.log(`kept ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\n| Lines | File MB | Job s | Records/s | Accepted | Rejected | Peak RSS MB | Event-loop delay max / p99 ms | Progress polls | End state | Service CPU µs per line | Load average (1 5 15 min) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.lines} | ${r.mb.toFixed(0)} | ${r.seconds.toFixed(1)} | ${r.recordsPerSecond.toFixed(0)} | ${r.accepted} | ${r.rejected} | ${r.peakRssMb.toFixed(0)} | ${r.loopMaxMs.toFixed(0)} / ${r.loopP99Ms.toFixed(0)} | ${r.polls} | ${r.state} | ${r.cpuUsPerLine.toFixed(0)} | ${r.load} |`
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
