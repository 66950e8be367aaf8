/**
 * Several-instances benchmark (not a test): `npm run bench:instances -- [--clients 150] [--instances 1,2,3] [--put-seconds 10] [--connections 10]`
 * with BENCH_DATABASE_URL (or TEST_DATABASE_URL) naming a PostgreSQL server on which it may create
 * databases (scripts/test-postgres.sh starts a throwaway one).
 *
 * For each instance count N, on a fresh database and a fresh standalone FHIR target (its own process,
 * profile full, the target all instances share):
 * 0. intake PUT/s: N instances with the sync off on a database of their own, each under the same PUT
 *    load at once (put-load.ts, `--put-seconds`, `--connections` per instance): PUT/s per instance and
 *    in all, p99, and the ratio to N = 1; once on the templates' 3 clients (every instance's puts wait
 *    for the same clients' queue heads), once with a new client per PUT;
 * 1. the backlog: one instance with the sync off imports the records (bench/records.ts: copies of the
 *    example clients) in chunks of 500; records/s of intake on PostgreSQL;
 * 2. sync: N instances (each its own process, sync on, default settings) start together and drain that
 *    backlog; the clock runs from the moment all are up until nothing is pending or failing, over the
 *    records still waiting at that moment; records/s, the ratio to N = 1, and the instances' own CPU time
 *    per record (does sharing cost CPU?);
 * 3. the target's ceiling, in the same run: what the instances wrote (their shared ledger) read back
 *    from the target and posted again to a fresh embedded server with the sync's entry shapes, Bundle
 *    size and N x SYNC_CONCURRENCY Bundles in flight (ceiling.ts); resources/s and the ratio of the
 *    drain to it, which says how much of what the target can take N instances use.
 * The load average is printed beside each figure: on a shared machine it says how much the figures mean.
 * docs/benchmarks.md has the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { measureIngest, readBack } from './ceiling.js';
import { type Child, cpuMsOf, loadAverage, serviceReady, startScript } from './child.js';
import { type Figures, measure } from './put-load.js';
import { buildDataset, type ImportLine } from './records.js';

const TOKEN = 'bench-instances-token-0123456789';
const IMPORT_CHUNK = 500;
/** The service's defaults (src/config.ts): the ceiling is measured with the same Bundle size and slots. */
const SYNC_CONCURRENCY = 4;
const SYNC_MAX_BUNDLE_ENTRIES = 50;

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
  /** Phase 0: PUT figures of each instance, measured at once: on the templates' 3 clients, and a new client per PUT. */
  puts: Figures[];
  putsSpread: Figures[];
  /** The instances' own CPU time (user + system) per record drained, in ms (PostgreSQL and the target not included). */
  cpuMsPerRecord: number;
  /** The drain in resources/s (ledger rows written per second of the drain, Provenances included). */
  resourcesPerSecond: number;
  ceiling: { resources: number; ms: number; resourcesPerSecond: number; load: string };
}

/** A fresh database on the server; returns its URL. */
async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Phase 0: N instances (sync off) on a database of their own, each under the same PUT load at once. */
async function putLoad(serverUrl: string, n: number, dir: string, seconds: number, connections: number): Promise<{ puts: Figures[]; putsSpread: Figures[] }> {
  const dbName = `bench_puts_${n}_${Date.now()}`;
  const dbUrl = await freshDatabase(serverUrl, dbName);
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const children: Child[] = [];
  try {
    const env = (i: number): Record<string, string> => ({
      PORT: '0',
      DATA_DIR: join(dir, `puts-${n}-${i}`),
      DATABASE_URL: dbUrl,
      // Never reached (the sync is off); PostgreSQL needs an external target named.
      FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
      API_TOKENS: TOKEN,
      // Capacity is measured, not the per-credential limit (6,000 a minute by default).
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      SYNC_ENABLED: 'false',
      INSTANCE_ID: `bench-puts-${n}-${i}`,
    });
    children.push(...(await Promise.all(Array.from({ length: n }, (_, i) => startScript(join(root, 'src', 'main.js'), env(i), serviceReady(), join(dir, `puts-${n}-${i}.log`))))));
    // Warm-up (JIT, connection pools), not counted.
    await Promise.all(children.map((c, i) => measure(c, TOKEN, connections, 2, `w${n}${i}`)));
    const puts = await Promise.all(children.map((c, i) => measure(c, TOKEN, connections, seconds, `p${n}${i}`)));
    const putsSpread = await Promise.all(children.map((c, i) => measure(c, TOKEN, connections, seconds, `q${n}${i}`, { clientPerRequest: true })));
    return { puts, putsSpread };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await admin(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

async function runOne(serverUrl: string, n: number, lines: ImportLine[], seed: Bundle, dir: string, putFigures: { puts: Figures[]; putsSpread: Figures[] }): Promise<Row> {
  const dbName = `bench_instances_${n}_${Date.now()}`;
  const dbUrl = await freshDatabase(serverUrl, dbName);
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
    const seeded = (await (await fetch(targetUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(seed) })).json()) as Bundle;
    const seedResources = (seeded.entry ?? []).map((e) => e.resource as Resource);
    const env = (i: number, sync: boolean): Record<string, string> => ({
      PORT: '0',
      DATA_DIR: join(dir, `instance-${n}-${i}`),
      DATABASE_URL: dbUrl,
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
    const instancePids = children.slice(1).map((c) => c.child.pid as number);
    const cpuAtStart = (await Promise.all(instancePids.map(cpuMsOf))).reduce((a, b) => a + b, 0);
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
    const syncLoad = loadAverage();
    const cpuMs = (await Promise.all(instancePids.map(cpuMsOf))).reduce((a, b) => a + b, 0) - cpuAtStart;
    for (const c of children.splice(1)) {
      await c.stop();
    }

    // 3. The ceiling: what the instances wrote, read back and posted again with the sync's shapes.
    const store = await PostgresStore.open({ connectionString: dbUrl, instanceId: `bench-reader-${n}` });
    const ledger = await store.ledger.listLedger(targetUrl).finally(() => store.close());
    const written = await readBack(targetUrl, ledger);
    const ceiling = await measureIngest(written, seedResources, { maxEntries: SYNC_MAX_BUNDLE_ENTRIES, inFlight: n * SYNC_CONCURRENCY, dataDir: join(dir, `ceiling-${n}`) });
    // The drain's share of the ledger: the resources of the records it measured (those imported before
    // all were up were written outside the clock).
    const drained = Math.round((ledger.length * atStart) / Math.max(1, accepted));
    return {
      instances: n,
      records: accepted,
      intakePerSecond: Math.round((accepted / intakeMs) * 1000),
      intakeLoad,
      measured: atStart,
      syncMs: Math.round(syncMs),
      syncPerSecond: Math.round((atStart / syncMs) * 10_000) / 10,
      syncLoad,
      states,
      ...putFigures,
      cpuMsPerRecord: Math.round((cpuMs / Math.max(1, atStart)) * 10) / 10,
      resourcesPerSecond: Math.round((drained / syncMs) * 10_000) / 10,
      ceiling: { resources: ceiling.resources, ms: Math.round(ceiling.ms), resourcesPerSecond: Math.round((ceiling.resources / ceiling.ms) * 10_000) / 10, load: loadAverage() },
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
  const putSeconds = Number(arg('put-seconds', '10'));
  const connections = Number(arg('connections', '10'));
  const data = buildDataset(clients);
  const dir = mkdtempSync(join(tmpdir(), 'bench-instances-'));
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      const putFigures = await putLoad(serverUrl, n, dir, putSeconds, connections);
      const row = await runOne(serverUrl, n, data.lines, data.seed as Bundle, dir, putFigures);
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.instances === 1);
  const times = (x: number, y: number | undefined): string => (y ? `${Math.round((x / y) * 100) / 100}x` : '-');
  console.log(`\nIntake: ${putSeconds} s of PUTs, ${connections} connections per instance, all instances at once.\n`);
  console.log('| instances | clients | PUT/s per instance | PUT/s in all | vs 1 instance | p99 ms (worst instance) | non-2xx | load average |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const total = (f: Figures[]): number => f.reduce((sum, x) => sum + x.rps, 0);
  for (const [label, pick] of [['3 (all PUTs)', (r: Row) => r.puts], ['a new one per PUT', (r: Row) => r.putsSpread]] as const) {
    for (const r of rows) {
      const f = pick(r);
      console.log(
        `| ${r.instances} | ${label} | ${f.map((x) => x.rps.toFixed(0)).join(', ')} | ${total(f).toFixed(0)} | ${times(total(f), base && total(pick(base)))} | ${Math.max(...f.map((x) => x.p99))} | ${f.reduce((sum, x) => sum + x.non2xx, 0)} | ${f[f.length - 1]?.load} |`
      );
    }
  }
  console.log('\nSync: N instances drain one backlog to one target; the target\'s ceiling measured in the same run.\n');
  console.log('| instances | records | intake records/s (load) | drained after all were up | drain s | sync records/s | vs 1 instance | instances\' CPU ms per record | resources/s | target ceiling res/s (load) | drain / ceiling | load after the drain |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.instances} | ${r.records} | ${r.intakePerSecond} (${r.intakeLoad}) | ${r.measured} | ${(r.syncMs / 1000).toFixed(1)} | ${r.syncPerSecond} | ${times(r.syncPerSecond, base?.syncPerSecond)} | ${r.cpuMsPerRecord} | ${r.resourcesPerSecond} | ${r.ceiling.resourcesPerSecond} (${r.ceiling.load}) | ${Math.round((r.resourcesPerSecond / r.ceiling.resourcesPerSecond) * 1000) / 10} % | ${r.syncLoad} |`
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
