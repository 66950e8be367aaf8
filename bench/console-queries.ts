/**
 * Console query benchmark (not a test): `npm run bench:console -- [--sizes 1000,10000,100000]`.
 *
 * For each size, a fresh store is filled with that many records (real putRecords), their sync states
 * spread as a running service has them (mostly synced, some held by reason, failed, dead letters,
 * pending; changes over 30 days) and a disclosure in the audit for each synced one. Then, median of
 * repeated runs:
 * - the records listing (first page) per filter, a page deep in the keyset cursor, the throughput
 *   figures of the last hour, and a Prometheus scrape (whose cost is the status slice's targetStatus);
 * - with EXPLAIN QUERY PLAN, the index each listing uses (a SCAN of a table is a bug);
 * - the write cost of the listing's indexes: putRecords with and without them, side by side.
 * Figures and the load average go to docs/benchmarks.md.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceMetrics } from '../src/metrics/index.js';
import type { RecordStateFilter } from '../src/store/record-queries.js';
import type { PutRecordInput } from '../src/store/port.js';
import { listingQuery } from '../src/store/sqlite/record-queries.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const KINDS = ['participant', 'consent', 'session', 'note'] as const;
const TARGET = 'embedded';
const DAY = 86_400_000;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

function inputs(from: number, n: number): PutRecordInput[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    const kind = KINDS[i % 4];
    const mrn = `MRN-${100000 + (i % Math.max(1, Math.floor((from + n) / 12)))}`;
    return {
      kind,
      record: { id: `${kind[0]}-${i}`, client: { mrn }, relationship: 'coach' } as never,
      clientMrn: mrn,
      clientKey: mrn,
      targets: [TARGET],
    };
  });
}

async function fill(store: SqliteStore, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    await store.records.putRecords(inputs(i, Math.min(1000, n - i)));
  }
  // The states and times of a service that has run for a month (bench data shape, written directly).
  const db = store.db.raw;
  const now = Date.now();
  db.exec('BEGIN');
  const set = db.prepare('UPDATE sync_state SET state = ?, reason_code = ?, reason = ?, updated_at = ? WHERE rowid = ?');
  const audit = db.prepare("INSERT INTO audit (id, recorded, client_mrn, kind, record_id, target, category, outcome, event) VALUES (?, ?, ?, ?, ?, ?, 'disclosure', 'success', '{}')");
  const rows = db.prepare('SELECT s.rowid AS rid, s.kind, s.record_id, r.client_mrn FROM sync_state s JOIN records r ON r.kind = s.kind AND r.id = s.record_id').all() as {
    rid: number;
    kind: string;
    record_id: string;
    client_mrn: string;
  }[];
  rows.forEach((r, i) => {
    const at = new Date(now - ((i * 7919) % (30 * DAY))).toISOString();
    const p = i % 100;
    const [state, code] = p < 80 ? ['synced', null] : p < 86 ? ['held', 'no-consent'] : p < 90 ? ['held', 'patient-not-found'] : p < 95 ? ['failed', 'upstream-503'] : p < 97 ? ['dead-letter', 'upstream-422'] : ['pending', null];
    set.run(state, code, code ? `${code}: bench` : null, at, r.rid);
    if (state === 'synced') {
      audit.run(`a-${i}`, at, r.client_mrn, r.kind, r.record_id, TARGET);
    }
  });
  db.exec('COMMIT');
  db.exec('ANALYZE');
}

async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await f();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The plan SQLite chooses for the listing SQL of a filter. */
function plan(store: SqliteStore, filter: RecordStateFilter): string {
  const { sql, params } = listingQuery(filter, 50);
  return (store.db.raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');
}

async function sizeRun(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'console-bench-'));
  const store = new SqliteStore(join(dir, 'store.sqlite'));
  try {
    const t0 = Date.now();
    await fill(store, n);
    const fillS = (Date.now() - t0) / 1000;
    const someMrn = 'MRN-100003';
    const filters: [string, RecordStateFilter][] = [
      ['none', {}],
      ['state=held', { state: 'held' }],
      ['state=held reason=no-consent', { state: 'held', reasonCode: 'no-consent' }],
      ['kind=note', { kind: 'note' }],
      ['kind=note state=dead-letter', { kind: 'note', state: 'dead-letter' }],
      ['client (header)', { clientMrn: someMrn }],
      ['state=synced since 1 day', { state: 'synced', since: new Date(Date.now() - DAY).toISOString() }],
    ];
    console.log(`\n### ${n.toLocaleString()} records (filled in ${fillS.toFixed(1)} s; load average ${loadAverage()})\n`);
    console.log('| Query | median ms | plan |');
    console.log('|---|---|---|');
    for (const [name, f] of filters) {
      const ms = await median(30, () => store.status.listRecordStates(f, 50));
      console.log(`| listing, ${name} | ${ms.toFixed(2)} | ${plan(store, f)} |`);
    }
    // Page 20 of state=synced: follow the keyset cursor.
    let cursor: string | undefined;
    for (let i = 0; i < 19; i++) {
      cursor = (await store.status.listRecordStates({ state: 'synced' }, 50, cursor)).next;
    }
    const deep = await median(30, () => store.status.listRecordStates({ state: 'synced' }, 50, cursor));
    console.log(`| listing, state=synced, page 20 (cursor) | ${deep.toFixed(2)} | keyset |`);
    const tp = await median(10, () => store.status.syncThroughput(new Date(Date.now() - 3_600_000), 300_000));
    console.log(`| throughput, last hour in 5 min buckets | ${tp.toFixed(2)} | ${(store.db.raw.prepare("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM audit WHERE category IN ('disclosure','write-attempt') AND recorded >= ?").all('x') as { detail: string }[]).map((r) => r.detail).join('; ')} |`);
    const ts = await median(10, () => store.status.targetStatus());
    console.log(`| targetStatus (status slice, read by each scrape) | ${ts.toFixed(2)} | status.ts |`);
    const metrics = createServiceMetrics({ status: store.status });
    const scrapes: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // past the one-second sharing of a status read
      const t = process.hrtime.bigint();
      await metrics.registry.metrics();
      scrapes.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const scrape = scrapes.sort((a, b) => a - b)[2];
    console.log(`| Prometheus scrape (every gauge, one targetStatus) | ${scrape.toFixed(2)} | |`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** putRecords of `n` records with and without the listing's indexes, alternating, side by side. */
async function writeCost(n: number): Promise<void> {
  const run = async (withIndexes: boolean): Promise<number> => {
    const dir = mkdtempSync(join(tmpdir(), 'console-bench-w-'));
    const store = new SqliteStore(join(dir, 'store.sqlite'));
    try {
      if (!withIndexes) {
        store.db.raw.exec('DROP INDEX sync_state_changed; DROP INDEX sync_state_state_changed; DROP INDEX sync_state_reason_changed; DROP INDEX sync_state_kind_changed; DROP INDEX audit_category_recorded;');
      }
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i += 500) {
        await store.records.putRecords(inputs(i, Math.min(500, n - i)));
      }
      return Number(process.hrtime.bigint() - t) / 1e6;
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const withIdx: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 3; i++) {
    without.push(await run(false));
    withIdx.push(await run(true));
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[1];
  console.log(`\n### Write cost of the listing's indexes (${n.toLocaleString()} records put in 500s, median of 3, load average ${loadAverage()})\n`);
  console.log(`without: ${med(without).toFixed(0)} ms, with: ${med(withIdx).toFixed(0)} ms, ratio ${(med(withIdx) / med(without)).toFixed(2)}`);
}

function loadAverage(): string {
  return execSync('uptime').toString().trim().replace(/.*load average: /, '');
}

async function main(): Promise<void> {
  const sizes = arg('sizes', '1000,10000,100000').split(',').map(Number);
  for (const n of sizes) {
    await sizeRun(n);
  }
  await writeCost(Number(arg('write', '20000')));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
