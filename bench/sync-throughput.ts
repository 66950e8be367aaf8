/**
 * Sync throughput benchmark (not a test): `npm run bench -- [--clients 120] [--keep]`.
 *
 * 1. Starts the real service on the embedded defaults (embedded store, embedded FHIR server at /fhir
 *    reached over HTTP, default sync settings) in a temp folder; seeds the Patients and Practitioners.
 * 2. Imports the synthetic records (bench/records.ts) in one NDJSON request and measures from the start
 *    of the import until no record is pending any more: end-to-end records/s and resources/s.
 * 3. Reads back every resource the sync wrote and posts the same resources again, as prebuilt
 *    transaction Bundles, to a fresh embedded server: its own ingest ceiling, first with Bundles of the
 *    sync's size and in-flight count, then with 100-entry Bundles one at a time.
 * 4. Prints the figures and the ratio end-to-end / ceiling. docs/benchmarks.md has the results.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';
import { measureIngest, type IngestResult } from './ceiling.js';
import { buildDataset, WRITTEN_TYPES } from './records.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i < 0 ? dflt : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} must be a whole number of at least 1`);
  }
  return n;
}

async function main(): Promise<void> {
  const clients = arg('clients', 120);
  const keep = process.argv.includes('--keep');
  const dir = mkdtempSync(join(tmpdir(), 'collateral-bench-'));
  try {
    await run(clients, dir);
  } finally {
    if (keep) {
      console.log(`kept ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function run(clients: number, dir: string): Promise<void> {
  const token = randomBytes(24).toString('hex');
  const config = loadConfig({ PORT: '0', DATA_DIR: join(dir, 'service'), API_TOKENS: token });
  const fhirTime = new FhirTimeMeter(createWriteStream(join(dir, 'service.log')));
  const svc = await startService(config, { logStream: fhirTime.stream });
  const call = async (method: string, path: string, body: string, type: string): Promise<any> => {
    const res = await fetch(`${svc.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    const json: unknown = await res.json();
    if (!res.ok) {
      throw new Error(`${method} ${path} answered ${res.status}`);
    }
    return json;
  };

  const data = buildDataset(clients);
  const seeded: Bundle = await call('POST', '/fhir', JSON.stringify(data.seed), 'application/fhir+json');
  const seedResources = (seeded.entry ?? []).map((e) => e.resource as Resource);
  const ndjson = data.lines.map((l) => JSON.stringify(l)).join('\n');

  console.log(`${data.lines.length} records of ${clients} clients; sync concurrency ${config.sync.concurrency}`);
  const start = performance.now();
  fhirTime.reset();
  const imported = await call('POST', '/api/v1/import', ndjson, 'application/x-ndjson');
  const acceptedMs = performance.now() - start;
  if (imported.accepted !== data.lines.length) {
    throw new Error(`only ${imported.accepted} of ${data.lines.length} records were accepted`);
  }
  let states: Record<string, number> = {};
  for (;;) {
    states = {};
    for (const c of await svc.store.status.countSyncStates()) {
      states[c.state] = (states[c.state] ?? 0) + c.count;
    }
    if (!states.pending) {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const e2eMs = performance.now() - start;
  const server = fhirTime.snapshot();

  const written = await readBack(svc.url, token, new Set(seedResources.map((r) => `${r.resourceType}/${r.id}`)));
  await svc.close();

  const sizePerRecord = Math.max(1, Math.round(written.length / Math.max(1, states.synced ?? 1)));
  const ceilings: IngestResult[] = [
    await measureIngest(written, seedResources, { bundleSize: sizePerRecord, inFlight: config.sync.concurrency, dataDir: join(dir, 'ceiling-1') }),
    await measureIngest(written, seedResources, { bundleSize: 100, inFlight: 1, dataDir: join(dir, 'ceiling-2') }),
  ];
  report({ records: data.lines.length, clients, states, resources: written.length, acceptedMs, e2eMs, server, ceilings });
}

/** Every resource the sync wrote, read over HTTP (all pages); the seeded ones left out. */
async function readBack(url: string, token: string, seeded: Set<string>): Promise<Resource[]> {
  const found: Resource[] = [];
  for (const type of WRITTEN_TYPES) {
    let next: string | undefined = `${url}/fhir/${type}?_count=1000`;
    while (next) {
      const page = (await (await fetch(next, { headers: { authorization: `Bearer ${token}` } })).json()) as Bundle;
      for (const e of page.entry ?? []) {
        if (e.resource && !seeded.has(`${e.resource.resourceType}/${e.resource.id}`)) {
          found.push(e.resource);
        }
      }
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
  }
  return found;
}

/**
 * Passes the service log to a file and adds up the embedded FHIR server's request times from its access
 * log lines (`"message":"http"`, path /fhir…): how busy the server was during the end-to-end phase.
 */
class FhirTimeMeter {
  readonly stream = new PassThrough();
  private ms = 0;
  private requests = 0;
  private partial = '';

  constructor(file: NodeJS.WritableStream) {
    this.stream.pipe(file);
    this.stream.on('data', (chunk: Buffer) => {
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"message":"http"') && line.includes('"path":"/fhir')) {
          this.ms += Number((JSON.parse(line) as { ms?: number }).ms ?? 0);
          this.requests++;
        }
      }
    });
  }

  reset(): void {
    this.ms = 0;
    this.requests = 0;
  }

  snapshot(): { ms: number; requests: number } {
    return { ms: this.ms, requests: this.requests };
  }
}

interface Figures {
  records: number;
  clients: number;
  states: Record<string, number>;
  resources: number;
  acceptedMs: number;
  e2eMs: number;
  /** The embedded FHIR server's request time during the end-to-end phase (sum of its access-log ms). */
  server: { ms: number; requests: number };
  ceilings: IngestResult[];
}

function report(f: Figures): void {
  const rate = (n: number, ms: number): number => Math.round((n / ms) * 1000 * 10) / 10;
  const e2eResources = rate(f.resources, f.e2eMs);
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`
  );
  console.log(`states at the end: ${JSON.stringify(f.states)}`);
  console.log(`intake: ${f.records} records accepted in ${Math.round(f.acceptedMs)} ms (${rate(f.records, f.acceptedMs)} records/s)`);
  console.log(
    `end to end: ${f.records} records, ${f.resources} resources in ${Math.round(f.e2eMs)} ms: ` +
      `${rate(f.records, f.e2eMs)} records/s, ${e2eResources} resources/s`
  );
  console.log(
    `embedded FHIR server during end to end: ${f.server.requests} requests, ${Math.round(f.server.ms)} ms in total ` +
      `(${Math.round((f.server.ms / f.e2eMs) * 100)} % of the wall time, ${Math.round((f.server.ms / Math.max(1, f.server.requests)) * 10) / 10} ms each)`
  );
  for (const c of f.ceilings) {
    const ceiling = rate(c.resources, c.ms);
    console.log(
      `ceiling: ${c.bundles} transaction Bundles of ${c.bundleSize}, ${c.inFlight} in flight: ${c.resources} resources in ` +
        `${Math.round(c.ms)} ms: ${ceiling} resources/s; end to end / ceiling = ${Math.round((e2eResources / ceiling) * 100)} %`
    );
  }
  console.log(JSON.stringify({ ...f, e2eResourcesPerSecond: e2eResources }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
