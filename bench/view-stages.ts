/**
 * Where a view run's CPU goes, stage by stage (not a test):
 * `npm run build && node dist/bench/view-stages.js [--n 50000]`.
 *
 * On N Encounters of the view benchmark's workload (bench/view-workload.ts), held in memory, it times
 * each stage alone in one process: JSON.parse, de-identification (safe-harbor policy; all elements,
 * then only those the view and the policy read, as a store run does), the
 * collateral_sessions view on de-identified and on identified resources, and each encoder on the rows.
 * Printed as resources per CPU-second, twice (the second pass is warm), with the load average:
 * the figures in docs/benchmarks.md ("Views at scale") come from it and from bench/views.ts.
 */
import { loadavg } from 'node:os';
import type { Resource } from '@medplum/fhirtypes';
import { createEncoder, OUTPUT_FORMATS } from '../src/analytics/output/index.js';
import { evaluateView } from '../src/analytics/sof/evaluate.js';
import type { Row } from '../src/analytics/sof/types.js';
import { elementsToKeep, keepElements } from '../src/analytics/sof/reads.js';
import { loadViews } from '../src/analytics/views.js';
import { createDeidentifier, loadDeidPolicy } from '../src/deid/index.js';
import { encounter } from './view-workload.js';

function cpuSeconds<T>(fn: () => T): [number, T] {
  const start = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(start);
  return [(used.user + used.system) / 1e6, result];
}

function main(): void {
  const i = process.argv.indexOf('--n');
  const n = i < 0 ? 50_000 : Number(process.argv[i + 1]);
  const view = loadViews().resolve('collateral_sessions')!.view;
  const policy = loadDeidPolicy();
  // A fresh de-identifier per measurement: a warm pseudonym cache would favour the second one.
  const fresh = (): ReturnType<typeof createDeidentifier> => createDeidentifier(policy, 'bench-key-'.repeat(4));
  const texts = Array.from({ length: n }, (_, k) => JSON.stringify(encounter(k)));
  const rate = (s: number): string => String(Math.round(n / s)).padStart(8);
  console.log(`view stages, ${n} Encounters, node ${process.version}; resources per CPU-second`);
  for (let pass = 1; pass <= 2; pass++) {
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    const [parse, parsed] = cpuSeconds(() => texts.map((t) => JSON.parse(t) as Resource));
    const deidentify = fresh();
    const [deid, safe] = cpuSeconds(() => parsed.map((r) => deidentify(r) as Resource));
    // As a store run does it: only the elements the view and the policy read (sof/reads.ts).
    const deidentifyKept = fresh();
    const keep = elementsToKeep(view, deidentifyKept);
    const [deidKept, safeKept] = cpuSeconds(() => parsed.map((r) => deidentifyKept(keep ? keepElements(r, keep) : r) as Resource));
    const [evalDeid, rows] = cpuSeconds(() => safe.map((r) => evaluateView(view, r)));
    const [evalIdentified] = cpuSeconds(() => parsed.map((r) => evaluateView(view, r)));
    const rowsKept = safeKept.map((r) => evaluateView(view, r));
    if (JSON.stringify(rowsKept) !== JSON.stringify(rows)) {
      throw new Error('the view gave other rows on the de-identified copies of its elements alone');
    }
    const encoders = OUTPUT_FORMATS.map((format) => {
      const encoder = createEncoder(format, { columns: view.columns });
      const [s] = cpuSeconds(() => {
        rows.forEach((rs: Row[]) => rs.forEach((row) => encoder.row(row)));
        encoder.end();
      });
      return `${format} ${rate(s)}`;
    });
    console.log(
      `pass ${pass}: parse ${rate(parse)}  deidentify ${rate(deid)} (view's elements only ${rate(deidKept)})  evaluate(deid) ${rate(evalDeid)}  evaluate(identified) ${rate(evalIdentified)}  encode: ${encoders.join('  ')}  (load ${load})`
    );
  }
}

main();
