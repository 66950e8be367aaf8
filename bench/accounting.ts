/**
 * The cost of counting an identified run's clients for the accounting of disclosures (not a test):
 * `npm run build && node dist/bench/accounting.js [--sizes 1000,10000,100000]`.
 *
 * The collateral_sessions view over N Encounters (parsed from JSON text, evaluated, encoded as CSV),
 * with and without the client tally (src/analytics/client-tally.ts: the patient compartment of each
 * resource that gave a row, into a Set), alternated A/B/A/B in one process so both see the same load;
 * the better of two rounds of each. Encounters name 10,000 clients (`Patient/pat-<i % 10000>`).
 * Prints resources per CPU-second of each, their ratio, the clients counted and the load average.
 * Then the recording at the end of a run: `record()` of C clients named by Patient id (each resolved to
 * its MRN by one read of a real embedded FHIR store, then one entry each appended to a real SQLite
 * store, in transactions of 500), wall time per client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { CompartmentTally } from '../src/analytics/client-tally.js';
import { EmbeddedStoreSource } from '../src/analytics/source.js';
import { analyticsAccounting } from '../src/audit/analytics-disclosure.js';
import { openFhirDatabase } from '../src/fhir-server/index.js';
import { openStore } from '../src/store/open-store.js';
import { createEncoder } from '../src/analytics/output/index.js';
import { evaluateView } from '../src/analytics/sof/evaluate.js';
import { loadViews } from '../src/analytics/views.js';

const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';

/** A session Encounter as the mapping writes it (the fields the view and the compartment read). */
function encounter(i: number): Resource {
  const start = `2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}T16:00:00-05:00`;
  return {
    resourceType: 'Encounter',
    id: `enc-${i}`,
    meta: { versionId: '1', lastUpdated: '2026-01-01T00:00:00Z' },
    identifier: [{ system: 'https://fhir.example-practice.org/sid/session', value: `s-${i}` }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: i % 2 ? 'VR' : 'AMB' },
    type: [
      { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '90887' }], text: 'Collateral session, client absent' },
      { coding: [{ system: 'http://snomed.info/sct', code: '185318008', display: 'Third party encounter' }] },
    ],
    subject: { reference: `Patient/pat-${i % 10_000}` },
    participant: [
      {
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }],
        individual: { reference: `Practitioner/prac-${i % 50}` },
      },
      {
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PART' }] }],
        individual: { reference: `RelatedPerson/rp-${i % 10_000}` },
      },
    ],
    period: { start, end: start.replace('T16:00', 'T16:50') },
    reasonCode: [{ coding: [{ system: 'https://fhir.example-practice.org/CodeSystem/collateral-purpose', code: 'psychoeducation' }] }],
  } as Resource;
}

function run(n: number, texts: string[], withTally: boolean): { cpuSeconds: number; clients: number } {
  const view = loadViews().resolve('collateral_sessions')!.view;
  const encoder = createEncoder('csv', { columns: view.columns });
  const tally = withTally ? new CompartmentTally(MRN_SYSTEM) : undefined;
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const resource = JSON.parse(texts[i % texts.length]) as Resource;
    let counted = false;
    for (const row of evaluateView(view, resource)) {
      if (tally && !counted) {
        tally.add(resource);
        counted = true;
      }
      encoder.row(row);
    }
  }
  encoder.end();
  const used = process.cpuUsage(cpu);
  return { cpuSeconds: (used.user + used.system) / 1e6, clients: tally?.size ?? 0 };
}

function main(): void {
  const arg = process.argv.indexOf('--sizes');
  const sizes = (arg > 0 ? process.argv[arg + 1] : '1000,10000,100000').split(',').map(Number);
  // 20,000 distinct texts (two per client), reused: the generator stays out of the figure.
  const texts = Array.from({ length: 20_000 }, (_, i) => JSON.stringify(encounter(i)));
  run(1000, texts, true); // warm-up: definitions, compiled paths
  console.log('resources   plain/cpu-s   tally/cpu-s   ratio   clients   load (1, 5, 15 min)');
  for (const n of sizes) {
    const plain: number[] = [];
    const tallied: number[] = [];
    let clients = 0;
    for (let round = 0; round < 2; round++) {
      plain.push(run(n, texts, false).cpuSeconds);
      const t = run(n, texts, true);
      tallied.push(t.cpuSeconds);
      clients = t.clients;
    }
    const a = n / Math.min(...plain);
    const b = n / Math.min(...tallied);
    console.log(
      [
        String(n).padStart(9),
        Math.round(a).toString().padStart(13),
        Math.round(b).toString().padStart(13),
        (b / a).toFixed(2).padStart(7),
        String(clients).padStart(9),
        `  ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ].join(' ')
    );
  }
}

/** record() of `clients` clients by Patient id, on real stores in a fresh folder. */
async function recordPhase(clients: number): Promise<{ seconds: number; perClientMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-accounting-'));
  try {
    const fhir = openFhirDatabase(join(dir, 'fhir.sqlite'));
    const insert = fhir.prepare('INSERT INTO resources (resource_type, id, version_id, last_updated, content, deleted) VALUES (?, ?, 1, ?, ?, 0)');
    fhir.transaction(() => {
      for (let i = 0; i < clients; i++) {
        const patient = { resourceType: 'Patient', id: `pat-${i}`, identifier: [{ system: MRN_SYSTEM, value: `MRN-${i}` }] };
        insert.run('Patient', patient.id, '2026-01-01T00:00:00.000Z', JSON.stringify(patient));
      }
    })();
    fhir.close();
    const store = await openStore({ dataDir: dir, databaseUrl: undefined });
    const source = new EmbeddedStoreSource(join(dir, 'fhir.sqlite'));
    const accounting = analyticsAccounting({ audit: store.audit, source, ns: 'https://fhir.example-practice.org', mrnSystem: MRN_SYSTEM });
    const tally = accounting.newTally();
    for (let i = 0; i < clients; i++) {
      tally.add(encounter(i));
    }
    const start = process.hrtime.bigint();
    await accounting.record({ who: 'bench', action: '$viewdefinition-run', types: ['Encounter'], views: ['collateral_sessions'], clients: tally });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    source.close();
    await store.close();
    return { seconds, perClientMs: (seconds * 1000) / clients };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordFigures(): Promise<void> {
  console.log('\nclients   record() s   ms/client   load (1, 5, 15 min)');
  for (const c of [1000, 10_000]) {
    const r = await recordPhase(c);
    console.log(
      [
        String(c).padStart(7),
        r.seconds.toFixed(2).padStart(12),
        r.perClientMs.toFixed(3).padStart(11),
        `  ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ].join(' ')
    );
  }
}

main();
recordFigures().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
