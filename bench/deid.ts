/**
 * De-identification benchmark (not a test): `npm run bench:deid -- [--sizes 1000,10000,100000]`.
 *
 * For each size, side by side, each phase in its own child process (so its peak RSS is its own):
 * 1. `clone`: JSON.parse(JSON.stringify(r)) of every resource, the floor any copying transform pays;
 * 2. `deid`: the shipped Safe Harbor policy (deidentify/safe-harbor.json) on every resource;
 * 3. `export`: the $export job's pipeline, from a real embedded FHIR store (SQLite, rows inserted in the
 *    server's schema by a separate `prepare` process) through the read-only paged source, the
 *    de-identifier and NDJSON files.
 *
 * Resources are generated one at a time from realistic shapes of what the sync writes (Encounter,
 * RelatedPerson, DocumentReference with a note, Consent, Provenance, Patient), one client per 20
 * resources. Prints resources per wall-clock second and per CPU second (the second holds up on a busy
 * machine), the CPU ratio deid/clone, each phase's peak RSS (maxRSS from the OS) and the load average.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { createDeidentifier, loadDeidPolicy } from '../src/deid/index.js';
import { bulkRunner } from '../src/exports/bulk-export.js';
import { EmbeddedStoreSource } from '../src/analytics/source.js';
import type { JobRecord } from '../src/exports/job-store.js';
import { openFhirDatabase } from '../src/fhir-server/index.js';

const KEY = 'bench-deid-key-0123456789abcdef0123456789';
const TYPES = ['Encounter', 'RelatedPerson', 'DocumentReference', 'Consent', 'Provenance', 'Patient'] as const;

function sizesArg(): number[] {
  const i = process.argv.indexOf('--sizes');
  const raw = i < 0 ? '1000,10000,100000' : process.argv[i + 1];
  return raw.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error('--sizes takes whole numbers separated by commas');
    }
    return n;
  });
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const maxRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const pad = (n: number): string => String(n).padStart(2, '0');

/** The i-th synthetic resource (deterministic). */
export function resource(i: number): Resource {
  const type = TYPES[i % TYPES.length];
  const client = `pat-${Math.floor(i / 20)}`;
  const day = `2026-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`;
  const meta = { versionId: '1', lastUpdated: `${day}T10:11:12.345Z`, tag: [{ system: 'https://fhir.example-practice.org/CodeSystem/mapping-version', code: 'x.v1@1.1.0' }] };
  const id = `r-${i}`;
  switch (type) {
    case 'Encounter':
      return {
        resourceType: 'Encounter',
        id,
        meta: { ...meta, security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' }] },
        identifier: [{ system: 'https://fhir.example-practice.org/sid/session', value: `s-${i}` }],
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
        type: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '90847' }], text: 'Joint session, client present' }],
        subject: { reference: `Patient/${client}` },
        participant: [
          { type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }], individual: { reference: 'Practitioner/prac-1' } },
          { type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PART' }] }], individual: { reference: `RelatedPerson/rp-${i}` } },
        ],
        period: { start: `${day}T16:00:00-05:00`, end: `${day}T16:50:00-05:00` },
        length: { value: 50, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
        reasonCode: [{ coding: [{ system: 'https://fhir.example-practice.org/CodeSystem/collateral-purpose', code: 'information-gathering', display: 'Information gathering' }] }],
      } as Resource;
    case 'RelatedPerson':
      return {
        resourceType: 'RelatedPerson',
        id,
        meta,
        identifier: [{ system: 'https://fhir.example-practice.org/sid/collateral-contact', value: `p-${i}:MRN-${client}` }],
        active: true,
        patient: { reference: `Patient/${client}` },
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH', display: 'mother' }], text: 'Mother' }],
        name: [{ given: ['Rosa'], family: `Family${i}` }],
        telecom: [{ system: 'phone', value: `+1-555-${String(i % 10000).padStart(4, '0')}`, use: 'mobile' }],
        communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] } }],
        period: { start: day },
      } as Resource;
    case 'DocumentReference':
      return {
        resourceType: 'DocumentReference',
        id,
        meta,
        identifier: [{ system: 'https://fhir.example-practice.org/sid/note', value: `n-${i}` }],
        status: 'current',
        docStatus: 'final',
        type: { coding: [{ system: 'http://loinc.org', code: '34904-3', display: 'Mental health Progress note' }], text: 'Session summary' },
        subject: { reference: `Patient/${client}` },
        date: `${day}T20:15:00-05:00`,
        author: [{ reference: 'Practitioner/prac-1' }],
        content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(`Session summary ${i}: `.padEnd(400, 'x')).toString('base64'), title: 'Collateral session summary', creation: `${day}T20:15:00-05:00` } }],
        context: { encounter: [{ reference: `Encounter/r-${i - 2}` }], period: { start: `${day}T16:00:00-05:00`, end: `${day}T16:50:00-05:00` } },
      } as Resource;
    case 'Consent':
      return {
        resourceType: 'Consent',
        id,
        meta,
        identifier: [{ system: 'https://fhir.example-practice.org/sid/roi', value: `c-${i}` }],
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '64292-6' }] }],
        patient: { reference: `Patient/${client}` },
        dateTime: `${day}T18:40:00-05:00`,
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentpolicycodes', code: 'hipaa-auth' }], text: 'HIPAA authorization' },
        provision: { type: 'permit', period: { start: day, end: '2028-01-21' }, actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: `RelatedPerson/rp-${i}` } }] },
      } as Resource;
    case 'Provenance':
      return {
        resourceType: 'Provenance',
        id,
        meta,
        target: [{ reference: `Encounter/r-${i - 4}` }],
        recorded: `${day}T10:11:12.345Z`,
        policy: [`https://fhir.example-practice.org/sid/roi|c-${i}`],
        agent: [{ who: { identifier: { system: 'https://fhir.example-practice.org/sid/organization', value: 'practice' }, display: 'the practice' } }],
        entity: [{ role: 'source', what: { identifier: { system: 'https://fhir.example-practice.org/sid/source-record', value: `session/s-${i}/v1` } } }],
      } as Resource;
    default:
      return {
        resourceType: 'Patient',
        id: client,
        meta,
        identifier: [{ system: 'https://fhir.example-hospital.org/sid/mrn', value: `MRN-${i}` }],
        name: [{ use: 'official', family: `Client${i}`, given: ['Lily'] }],
        gender: 'female',
        birthDate: '2017-09-14',
      } as Resource;
  }
}

interface Timing {
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds of this process (user + system): what the work costs, whatever else runs on the machine. */
  cpuSeconds: number;
}

async function timed(fn: () => unknown | Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await fn();
  const used = process.cpuUsage(cpu);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (used.user + used.system) / 1e6 };
}

function each(n: number, fn: (r: Resource) => unknown): void {
  for (let i = 0; i < n; i++) {
    fn(resource(i));
  }
}

function prepare(n: number, dbPath: string): void {
  const db = openFhirDatabase(dbPath);
  const insert = db.prepare('INSERT OR REPLACE INTO resources (resource_type, id, version_id, last_updated, content, deleted) VALUES (?, ?, 1, ?, ?, 0)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const r = resource(i);
      insert.run(r.resourceType, r.id, r.meta?.lastUpdated ?? '', JSON.stringify(r));
    }
  })();
  db.close();
}

async function exportPipeline(dbPath: string, jobDir: string): Promise<Timing & { written: number }> {
  const policy = loadDeidPolicy();
  const source = new EmbeddedStoreSource(dbPath);
  mkdirSync(jobDir, { mode: 0o700 });
  const job = { id: 'bench', kind: 'bulk', state: 'in-progress', owner: 'bench', identified: false, request: '', createdAt: '', params: { level: 'system', types: [...TYPES], identified: false }, outputs: [] } as unknown as JobRecord;
  let written = 0;
  const timing = await timed(async () => {
    const outputs = await bulkRunner({ source, policy, deidKey: KEY })(job, { signal: new AbortController().signal, dir: jobDir, progress: () => undefined });
    written = outputs.reduce((s, o) => s + o.count, 0);
  });
  source.close();
  return { ...timing, written };
}

/** One phase, in this (child) process; prints its result as JSON. */
async function phase(name: string, n: number, dir: string): Promise<void> {
  let result: Timing & { written?: number };
  if (name === 'clone') {
    result = await timed(() => each(n, (r) => JSON.parse(JSON.stringify(r))));
  } else if (name === 'deid') {
    const deidentify = createDeidentifier(loadDeidPolicy(), KEY);
    each(2000, deidentify); // warm up the element-path tree and the JIT
    result = await timed(() => each(n, deidentify));
  } else if (name === 'prepare') {
    prepare(n, join(dir, 'fhir.sqlite'));
    result = { seconds: 0, cpuSeconds: 0 };
  } else {
    result = await exportPipeline(join(dir, 'fhir.sqlite'), join(dir, 'job'));
  }
  process.stdout.write(JSON.stringify({ ...result, maxRssMb: maxRssMb() }));
}

type PhaseResult = Timing & { written?: number; maxRssMb: number };

function child(name: string, n: number, dir: string): PhaseResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--phase', name, '--n', String(n), '--dir', dir], { encoding: 'utf8' });
  return JSON.parse(out) as PhaseResult;
}

async function main(): Promise<void> {
  const at = (flag: string): string | undefined => {
    const i = process.argv.indexOf(flag);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const phaseName = at('--phase');
  if (phaseName) {
    await phase(phaseName, Number(at('--n')), at('--dir') as string);
    return;
  }
  console.log(`node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), policy safe-harbor with ${loadDeidPolicy().rules.length} rules`);
  for (const n of sizesArg()) {
    const dir = mkdtempSync(join(tmpdir(), 'deid-bench-'));
    try {
      const clone = child('clone', n, dir);
      const deid = child('deid', n, dir);
      child('prepare', n, dir);
      const exported = child('export', n, dir);
      const rate = (s: number): string => Math.round(n / s).toLocaleString('en-US');
      const fig = (t: PhaseResult): string => `${rate(t.seconds)}/s wall, ${rate(t.cpuSeconds)}/CPU-s, peak RSS ${t.maxRssMb} MB`;
      console.log(
        `n=${n.toLocaleString('en-US')} | clone ${fig(clone)} | deid ${fig(deid)} (CPU deid/clone ${(deid.cpuSeconds / clone.cpuSeconds).toFixed(1)}x) | ` +
          `export pipeline ${fig(exported)}, ${exported.written} written | load average ${load()}`
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
