/**
 * The cost of the copy of what was sent (issue #11 item 2), not a test:
 * `npm run bench:local-copy -- [--clients 70] [--rounds 2]`.
 *
 * The real service syncs the bench dataset (bench/records.ts, about 15 records per client) to a
 * separately started embedded FHIR server (FHIR_BASE_URL, default sync settings), once keeping the copy
 * and once without it (StartOptions.localCopy = false), alternating, each in a fresh folder with a fresh
 * target. The clock runs from the import until nothing is pending or failing. Printed: the time of each
 * run, the ratio with/without side by side, the copy's size, its read-backs, and the load average.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { startStandaloneFhirServer } from '../src/fhir-server/standalone.js';
import { localCopyPath } from '../src/local-copy/index.js';
import { startService } from '../src/service.js';
import { buildDataset } from './records.js';

const TOKEN = 'bench-local-copy-token-0123456789';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Run {
  mode: 'copy' | 'none';
  records: number;
  ms: number;
  copyBytes: number;
  readBacks: number;
  load: number;
}

async function once(mode: Run['mode'], clients: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-local-copy-'));
  const data = buildDataset(clients);
  const target = await startStandaloneFhirServer({ profile: 'full', dataDir: join(dir, 'ehr') });
  let logs = '';
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => (logs += c.toString('utf8')));
  try {
    const seeded = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(data.seed) });
    if (!seeded.ok) {
      throw new Error(`seeding the target answered ${seeded.status}`);
    }
    const config = loadConfig({ PORT: '0', DATA_DIR: join(dir, 'svc'), FHIR_BASE_URL: target.url, API_TOKENS: TOKEN, LOG_LEVEL: 'info' });
    const svc = await startService(config, { logStream: stream, localCopy: mode === 'copy' });
    try {
      const h = { authorization: `Bearer ${TOKEN}` };
      const started = performance.now();
      const imported = await fetch(`${svc.url}/api/v1/import`, {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/x-ndjson' },
        body: `${data.lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
      });
      if (!imported.ok) {
        throw new Error(`import answered ${imported.status}`);
      }
      for (;;) {
        const status = (await (await fetch(`${svc.url}/api/v1/sync/status`, { headers: h })).json()) as { targets: Record<string, Record<string, number>> };
        const states = status.targets[target.url] ?? {};
        if (!states.pending && !states.failed) {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const ms = performance.now() - started;
      const file = localCopyPath(join(dir, 'svc'), target.url);
      const copyBytes = mode === 'copy' ? statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) : 0;
      return { mode, records: data.lines.length, ms, copyBytes, readBacks: logs.split('local copy: read back').length - 1, load: loadavg()[0] };
    } finally {
      await svc.close();
    }
  } finally {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const clients = arg('clients', 70);
  const rounds = arg('rounds', 2);
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternating, so the machine's load weighs on both alike.
    for (const mode of r % 2 === 0 ? (['copy', 'none'] as const) : (['none', 'copy'] as const)) {
      const run = await once(mode, clients);
      runs.push(run);
      console.log(
        `${run.mode.padEnd(5)} ${String(run.records).padStart(6)} records  ${(run.ms / 1000).toFixed(1).padStart(6)} s  ` +
          `${(run.records / (run.ms / 1000)).toFixed(1).padStart(6)} rec/s  copy ${(run.copyBytes / 1e6).toFixed(2)} MB  read-backs ${run.readBacks}  load ${run.load.toFixed(2)}`
      );
    }
  }
  const mean = (mode: Run['mode']): number => runs.filter((r) => r.mode === mode).reduce((a, r) => a + r.ms, 0) / (rounds || 1);
  console.log(`with copy / without: ${(mean('copy') / mean('none')).toFixed(3)} (mean of ${rounds} runs each)`);
  console.log(JSON.stringify(runs));
}

await main();
