/**
 * `collateral-fhir test-mappings`: runs every golden case (test/mapping-cases) against the mappings
 * and the profile pack, prints a readable diff per failing case, and exits non-zero on any failure.
 * `--update` rewrites the expected resources of the cases with expect (review the git diff after).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadProfiles } from '../profiles/pack.js';
import { defaultCasesDir, loadCaseFiles, runCase, type CaseRun } from '../profiles/workbench/cases.js';
import type { CommandIo } from './io.js';
import { loadMappingsOrReport } from './load-mappings.js';

export const TEST_MAPPINGS_USAGE = `  test-mappings  run the golden mapping cases; a diff per failure, exit 1 on any failure
          --cases DIR        case folder (default test/mapping-cases)
          --mappings DIR     mappings folder (default mappings/)
          --filter TEXT      only cases whose file or title contains TEXT
          --update           write the actual output into each case's expect (review the diff!)`;

export async function testMappingsCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { cases: { type: 'string' }, mappings: { type: 'string' }, filter: { type: 'string' }, update: { type: 'boolean' } },
  });
  const mappings = loadMappingsOrReport(io, values.mappings);
  if (!mappings) {
    return 1;
  }
  const { files, problems } = loadCaseFiles(values.cases ?? defaultCasesDir());
  for (const p of problems) {
    io.err(`BROKEN ${p.file}`);
    p.problems.forEach((x) => io.err(`  ${x.path || '/'}: ${x.message}`));
  }
  const packFor = (ns: string) => loadProfiles({ ns });
  let total = 0;
  let failed = 0;
  for (const file of files) {
    const runs: CaseRun[] = [];
    file.suite.cases.forEach((c, i) => {
      if (values.filter && !file.file.includes(values.filter) && !c.title.includes(values.filter)) {
        return;
      }
      const run = runCase(file, i, mappings, packFor);
      runs.push(run);
      total++;
      if (run.failures.length > 0) {
        failed++;
        io.out(`FAIL ${file.file} #${i} ${c.title}`);
        run.failures.forEach((l) => io.out(`  ${l}`));
      }
    });
    if (values.update) {
      update(file.path, file.suite, runs);
    }
  }
  io.out(`${total} cases in ${files.length} files: ${total - failed} passed, ${failed} failed${problems.length ? `; ${problems.length} broken case files` : ''}`);
  return failed > 0 || problems.length > 0 ? 1 : 0;
}

/** Rewrites `expect` with the actual output of each case that has one and mapped. */
function update(path: string, suite: { cases: { expect?: unknown[] }[] }, runs: CaseRun[]): void {
  let changed = false;
  for (const run of runs) {
    const c = suite.cases[run.index];
    if (c.expect && run.actual) {
      c.expect = run.actual;
      changed = true;
    }
  }
  if (changed) {
    writeFileSync(path, `${JSON.stringify(suite, null, 2)}\n`);
  }
}
