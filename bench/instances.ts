/**
 * Several-instances benchmark (not a test): `npm run bench:instances -- [--clients 150] [--instances 1,2,3]`
 * with BENCH_DATABASE_URL (or TEST_DATABASE_URL) naming a PostgreSQL server on which it may create
 * databases (scripts/test-postgres.sh starts a throwaway one).
 *
 * For each instance count N, on a fresh database and a fresh standalone FHIR target (its own process,
 * profile full, the target all instances share):
 * 1. intake: one instance with the sync off imports the records (bench/records.ts: copies of the example
 *    clients) in chunks of 500; records/s of intake on PostgreSQL;
 * 2. sync: N instances (each its own process, sync on, default settings) start together and drain that
 *    backlog; the clock runs from the moment all are up until nothing is pending or failing, over the
 *    records still waiting at that moment; records/s and the ratio to N = 1.
 * The load average is printed beside each figure: on a shared machine it says how much the figures mean.
 * docs/benchmarks.md has the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type Child, loadAverage, serviceReady, startScript } from './child.js';
import { buildDataset, type ImportLine } from './records.js';

const TOKEN = 'bench-instances-token-0123456789';
const IMPORT_CHUNK = 500;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function call(url: string, method: string, path: string, body?: string, type = 'application/json'): Promise<any> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': type } : {}) }, body });
  const json: unknown = await res.json();
  if (!res.ok) {
    throw new Error(`${method} ${path} answered ${res.status}`);
  }
  return json;
}

interface Row {
  instances: number;
  records: number;
  intakePerSecond: number;
  intakeLoad: string;
  /** Records still pending when all N instances were up (the drain measured). */
  measured: number;
  syncMs: number;
  syncPerSecond: number;
  syncLoad: string;
  states: Record<string, number>;
}

async function runOne(serverUrl: string, n: number, lines: ImportLine[], seed: unknown, dir: string): Promise<Row> {
  const dbName = `bench_instances_${n}_${Date.now()}`;
  await admin(serverUrl, `CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${dbName}`;
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const main = join(root, 'src', 'main.js');
  const children: Child[] = [];
  try {
    const target = await startScript(
      join(root, 'src', 'fhir-server', 'standalone-main.js'),
      { PORT: '0', DATA_DIR: join(dir, `target-${n}`), LOG_LEVEL: 'info' },
      /"url":"([^"]+)"/,
      join(dir, `target-${n}.log`)
    );
    children.push(target);
    const targetUrl = target.url;
    await fetch(targetUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(seed) });
    const env = (i: number, sync: boolean): Record<string, string> => ({
      PORT: '0',
      DATA_DIR: join(dir, `instance-${n}-${i}`),
      DATABASE_URL: dbUrl.toString(),
      FHIR_BASE_URL: targetUrl,
      API_TOKENS: TOKEN,
      // info: the start-up line carries the URL (each instance's log goes to its own file).
      LOG_LEVEL: 'info',
      SYNC_ENABLED: String(sync),
      INSTANCE_ID: `bench-${n}-${i}`,
    });

    // 1. Intake through one instance, the sync off.
    const loader = await startScript(main, env(0, false), serviceReady(), join(dir, `loader-${n}.log`));
    const t0 = performance.now();
    let accepted = 0;
    for (let i = 0; i < lines.length; i += IMPORT_CHUNK) {
      const body = lines
        .slice(i, i + IMPORT_CHUNK)
        .map((l) => JSON.stringify(l))
        .join('\n');
      const r = await call(loader.url, 'POST', '/api/v1/import', body, 'application/x-ndjson');
      accepted += r.accepted ?? 0;
    }
    const intakeMs = performance.now() - t0;
    const intakeLoad = loadAverage();
    await loader.stop();

    // 2. N instances drain the backlog. They start together; the clock runs from the moment all are up,
    // over what was still pending then (start-up takes seconds on a loaded machine, and the first
    // instance up starts sending at once).
    children.push(...(await Promise.all(Array.from({ length: n }, (_, i) => startScript(main, env(i, true), serviceReady(), join(dir, `instance-${n}-${i}.log`))))));
    const first = children[1];
    const waiting = (st: Record<string, number>): number => (st.pending ?? 0) + (st.failed ?? 0);
    const t1 = performance.now();
    const atStart = waiting((await call(first.url, 'GET', '/api/v1/sync/status')).targets[targetUrl] ?? {});
    let states: Record<string, number> = {};
    for (;;) {
      const status = await call(first.url, 'GET', '/api/v1/sync/status');
      states = status.targets[targetUrl] ?? {};
      if (waiting(states) === 0) {
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const syncMs = performance.now() - t1;
    return {
      instances: n,
      records: accepted,
      intakePerSecond: Math.round((accepted / intakeMs) * 1000),
      intakeLoad,
      measured: atStart,
      syncMs: Math.round(syncMs),
      syncPerSecond: Math.round((atStart / syncMs) * 10_000) / 10,
      syncLoad: loadAverage(),
      states,
    };
  } finally {
    for (const c of children.reverse()) {
      await c.stop();
    }
    await admin(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

async function main(): Promise<void> {
  const serverUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    throw new Error('set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server: eval "$(scripts/test-postgres.sh start)"');
  }
  const clients = Number(arg('clients', '150'));
  const counts = arg('instances', '1,2,3').split(',').map(Number);
  const data = buildDataset(clients);
  const dir = mkdtempSync(join(tmpdir(), 'bench-instances-'));
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      const row = await runOne(serverUrl, n, data.lines, data.seed, dir);
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.instances === 1)?.syncPerSecond;
  console.log('| instances | records | intake records/s (load) | drained after all were up | drain s | sync records/s | vs 1 instance | load after the drain |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const ratio = base ? `${Math.round((r.syncPerSecond / base) * 100) / 100}x` : '-';
    console.log(
      `| ${r.instances} | ${r.records} | ${r.intakePerSecond} (${r.intakeLoad}) | ${r.measured} | ${(r.syncMs / 1000).toFixed(1)} | ${r.syncPerSecond} | ${ratio} | ${r.syncLoad} |`
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
