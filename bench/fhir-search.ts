/**
 * Embedded FHIR server search benchmark (not a test):
 *   npm run bench:fhir-search -- [--sizes 1000,20000,100000] [--queries 200] [--scan-sizes 1000,20000]
 *                                [--writes 2000 | --no-writes] [--keep]
 *
 * For each size N, N DocumentReferences (the sync's shape: identifier, subject, encounter, date, a
 * unique meta.tag, profile, type) are stored in one fresh database through the repository (batches of
 * 1,000 per transaction), then searched:
 * - over HTTP against the real router (the standalone embedded server on the same file), and
 * - directly against the repository (no HTTP, no JSON serialisation of the answer),
 * for `patient`, `subject` + `_sort=-_lastUpdated`, a one-day `date` window, `date=ge` (a broad one), `_tag` (with `_count=2`,
 * the sync's conditional create), `identifier`, and `_sort=-_lastUpdated` alone; plus the sync's
 * conditional create over HTTP (POST with If-None-Exist on an existing identifier). Each: p50, p99,
 * mean over `--queries` searches with random keys, and the event-loop delay max during the HTTP runs.
 * The scan path (the repository with the index off: every resource of the type parsed and matched) is
 * timed at the `--scan-sizes` for the ratio. Write cost: `--writes` creates into a fresh database with
 * and without the index, in batches of 100 per transaction (CPU) and one per transaction (with fsync).
 * docs/benchmarks.md has the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseSearchRequest } from '@medplum/core';
import type { DocumentReference } from '@medplum/fhirtypes';
import { openFhirDatabase } from '../src/fhir-server/database.js';
import { SqliteFhirRepository } from '../src/fhir-server/sqlite-repository.js';
import { startStandaloneFhirServer } from '../src/fhir-server/standalone.js';

const SYS = 'https://bench.example/ids';
const TAGS = 'https://bench.example/tags';
const PROFILE = 'https://collateral.example/fhir/StructureDefinition/collateral-note';
const DOCS_PER_PATIENT = 100;
const DAY_MS = 86_400_000;
const START = Date.UTC(2022, 0, 1);
const SPAN_DAYS = 3 * 365;

function list(name: string, dflt: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    return dflt;
  }
  const values = (process.argv[i + 1] ?? '').split(',').filter(Boolean).map(Number);
  if (values.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--${name} must be whole numbers of at least 1, comma-separated`);
  }
  return values;
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const rnd = (n: number): number => Math.floor(Math.random() * n);
const day = (d: number): string => new Date(START + d * DAY_MS).toISOString().slice(0, 10);

/** The i-th document of a set of n: ~100 per patient, dates spread evenly over three years. */
function documentReference(i: number, n: number): DocumentReference {
  const patients = Math.max(1, Math.round(n / DOCS_PER_PATIENT));
  const at = new Date(START + Math.floor((i / n) * SPAN_DAYS * DAY_MS)).toISOString();
  return {
    resourceType: 'DocumentReference',
    meta: { profile: [PROFILE], tag: [{ system: TAGS, code: `key-${i}` }] },
    identifier: [{ system: SYS, value: `doc-${i}` }],
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }] },
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', code: 'clinical-note' }] }],
    subject: { reference: `Patient/p${i % patients}` },
    date: at,
    author: [{ reference: `Practitioner/pr${i % 20}` }],
    description: `Collateral session note ${i}`,
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(`note ${i}`).toString('base64') } }],
    context: { encounter: [{ reference: `Encounter/e${i}` }], period: { start: at } },
  };
}

/**
 * fetch with one retry on a connection reset: a keep-alive socket the server closes as idle just as
 * the next request goes out (a race, frequent on a loaded machine) is not what is measured here.
 */
async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

/** Stores documents [from, to) of a set of n, 1,000 per transaction; returns ms per write. */
async function populate(repo: SqliteFhirRepository, from: number, to: number, n: number, batch = 1000): Promise<number> {
  const started = performance.now();
  for (let i = from; i < to; i += batch) {
    await repo.withTransaction(async () => {
      for (let j = i; j < Math.min(to, i + batch); j++) {
        await repo.createResource(documentReference(j, n));
      }
    });
  }
  return (performance.now() - started) / Math.max(1, to - from);
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  results: number;
}

async function time(runs: number, once: () => Promise<number>): Promise<Stats> {
  const ms: number[] = [];
  let results = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    results += await once();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { p50: at(0.5), p99: at(0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, results: results / runs };
}

/** The benchmarked searches for a set of n documents, each producing a random query string. */
function searches(n: number): [string, () => string][] {
  const patients = Math.max(1, Math.round(n / DOCS_PER_PATIENT));
  return [
    ['patient', () => `DocumentReference?patient=Patient/p${rnd(patients)}`],
    ['subject, _sort=-_lastUpdated', () => `DocumentReference?subject=Patient/p${rnd(patients)}&_sort=-_lastUpdated`],
    ['date (one-day window)', () => {
      const d = rnd(SPAN_DAYS);
      return `DocumentReference?date=ge${day(d)}&date=lt${day(d + 1)}`;
    }],
    ['date=ge (about half the documents)', () => `DocumentReference?date=ge${day(rnd(SPAN_DAYS))}`],
    ['_tag, _count=2', () => `DocumentReference?_tag=${encodeURIComponent(`${TAGS}|key-${rnd(n)}`)}&_count=2`],
    ['identifier', () => `DocumentReference?identifier=${encodeURIComponent(`${SYS}|doc-${rnd(n)}`)}`],
    ['_sort=-_lastUpdated', () => `DocumentReference?_sort=-_lastUpdated&_count=20`],
  ];
}

function row(label: string, s: Stats): string {
  return `| ${label} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.mean.toFixed(2)} | ${s.results.toFixed(1)} |`;
}

async function benchSize(n: number, queries: number, scan: boolean, dir: string): Promise<void> {
  const dataDir = join(dir, `n${n}`);
  const file = join(dataDir, 'fhir.sqlite');
  const db = openFhirDatabase(file);
  const repo = new SqliteFhirRepository(db);
  const tail = Math.min(1000, n);
  const started = performance.now();
  await populate(repo, 0, n - tail, n);
  const tailMs = await populate(repo, n - tail, n, n);
  const allMs = (performance.now() - started) / n;
  db.close();
  console.log(`\n### ${n} DocumentReferences (load average ${load()})`);
  console.log(`stored in batches of 1,000 per transaction: ${allMs.toFixed(3)} ms per write overall, ${tailMs.toFixed(3)} ms per write for the last ${tail}`);

  const server = await startStandaloneFhirServer({ profile: 'full', dataDir });
  const url = server.url.replace(/\/fhir$/, '');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    console.log(`\n| search (${n}) | p50 ms | p99 ms | mean ms | results/page |\n|---|---|---|---|---|`);
    for (const [label, query] of searches(n)) {
      delay.enable();
      const http = await time(queries, async () => {
        const res = await fetchRetry(`${url}/fhir/${query()}`);
        const body = (await res.json()) as { entry?: unknown[] };
        if (res.status !== 200) {
          throw new Error(`${label} answered ${res.status}`);
        }
        return body.entry?.length ?? 0;
      });
      delay.disable();
      const direct = await time(queries, async () => {
        const bundle = await server.repo.search(parseSearchRequest(query()));
        return bundle.entry?.length ?? 0;
      });
      console.log(row(`${label}, HTTP`, http));
      console.log(row(`${label}, repository`, direct));
    }
    delay.enable();
    const conditional = await time(queries, async () => {
      const i = rnd(n);
      const res = await fetchRetry(`${url}/fhir/DocumentReference`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', 'if-none-exist': `identifier=${SYS}|doc-${i}` },
        body: JSON.stringify(documentReference(i, n)),
      });
      await res.arrayBuffer();
      if (res.status !== 200) {
        throw new Error(`conditional create answered ${res.status}`);
      }
      return 1;
    });
    delay.disable();
    console.log(row('conditional create (existing identifier), HTTP', conditional));
    console.log(`event-loop delay max during the HTTP runs: ${(delay.max / 1e6).toFixed(1)} ms; load average ${load()}`);
  } finally {
    await server.close();
  }

  if (scan) {
    const sdb = openFhirDatabase(file);
    const plain = new SqliteFhirRepository(sdb, { searchIndex: false });
    const runs = n > 5000 ? 5 : 20;
    console.log(`\n| scan path (${n}, index off, ${runs} runs) | p50 ms | p99 ms | mean ms | results/page |\n|---|---|---|---|---|`);
    const scanDelay = monitorEventLoopDelay({ resolution: 10 });
    scanDelay.enable();
    for (const [label, query] of searches(n).filter(([l]) => !l.startsWith('_sort') && !l.startsWith('date=ge'))) {
      console.log(row(`${label}, repository`, await time(runs, async () => (await plain.search(parseSearchRequest(query()))).entry?.length ?? 0)));
    }
    scanDelay.disable();
    console.log(`event-loop delay max during the scans (parsed in ~20 ms chunks): ${(scanDelay.max / 1e6).toFixed(1)} ms; load average ${load()}`);
    sdb.close();
  }
}

async function benchWrites(writes: number, dir: string): Promise<void> {
  console.log(`\n### Write cost (${writes} creates into a fresh database; load average ${load()})`);
  console.log('\n| index | batches of 100 per transaction: ms per write | writes/s | one per transaction (fsync): ms per write |\n|---|---|---|---|');
  for (const searchIndex of [true, false]) {
    const db = openFhirDatabase(join(dir, `writes-${searchIndex}`, 'fhir.sqlite'));
    const repo = new SqliteFhirRepository(db, { searchIndex });
    const batched = await populate(repo, 0, writes, writes, 100);
    const single = Math.min(300, writes);
    const one = await populate(repo, writes, writes + single, writes, 1);
    console.log(`| ${searchIndex ? 'on' : 'off'} | ${batched.toFixed(3)} | ${(1000 / batched).toFixed(0)} | ${one.toFixed(3)} |`);
    db.close();
  }
  console.log(`load average ${load()}`);
}

async function main(): Promise<void> {
  const sizes = list('sizes', [1000, 20000, 100000]);
  const queries = list('queries', [200])[0];
  const scanSizes = new Set(list('scan-sizes', [1000, 20000]));
  const writes = list('writes', [2000])[0];
  const skipWrites = process.argv.includes('--no-writes');
  const keep = process.argv.includes('--keep');
  const dir = mkdtempSync(join(tmpdir(), 'fhir-search-bench-'));
  console.log(`Node ${process.version}; load average ${load()}`);
  try {
    if (!skipWrites) {
      await benchWrites(writes, dir);
    }
    for (const n of sizes) {
      await benchSize(n, queries, scanSizes.has(n), dir);
    }
  } finally {
    if (keep) {
      console.log(`kept ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
