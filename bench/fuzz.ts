/**
 * The long fuzz run, on demand: `npm run fuzz [-- --runs 100000 --seed 1 --concurrency 4]`.
 * Starts the real service (embedded store and FHIR server, a key per role, the sync off) in a temp
 * folder, sends fast-check's generated requests (bench/fuzz-model.ts) in chunks of 1,000 seeds, and
 * prints the count of answers by status and by surface, and every failing case (a 5xx, JavaScript in an
 * answer, an error that is not an OperationOutcome, a request value quoted back). Exit code 1 when any
 * case failed. Figures go in docs/security.md with the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { addKey } from '../src/auth/keys-file.js';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';
import { checkAnswer, fuzzRequest, send, type FuzzRequest } from './fuzz-model.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '4' } },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);

function surface(req: FuzzRequest): string {
  if (req.path.startsWith('/fhir')) {
    return '/fhir';
  }
  if (req.path.startsWith('/api/v1/import')) {
    return 'import';
  }
  if (req.path.startsWith('/api/v1/$map')) {
    return '$map';
  }
  return 'records';
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'collateral-fuzz-'));
  const keysFile = join(dir, 'keys.json');
  const tokens = {
    admin: addKey(keysFile, 'fuzz-admin', ['admin']),
    source: addKey(keysFile, 'fuzz-source', ['source']),
    'fhir-reader': addKey(keysFile, 'fuzz-reader', ['fhir-reader']),
    operator: addKey(keysFile, 'fuzz-operator', ['operator']),
  };
  const svc = await startService(
    loadConfig({
      PORT: '0',
      DATA_DIR: join(dir, 'data'),
      API_KEYS_FILE: keysFile,
      LOG_LEVEL: 'error',
      SYNC_ENABLED: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      AUTH_FAILURE_LIMIT: '100000',
    })
  );
  const byStatus = new Map<string, number>();
  const failures: { req: FuzzRequest; problems: string[] }[] = [];
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const started = Date.now();
  let done = 0;
  try {
    for (let chunk = 0; done < runs; chunk++) {
      const n = Math.min(1000, runs - done);
      const requests = fc.sample(fuzzRequest, { numRuns: n, seed: seed * 100_000 + chunk });
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < requests.length) {
            const req = requests[next++];
            let problems: string[];
            let status = 'no answer';
            try {
              const r = await send(svc.url, tokens, req);
              status = String(r.status);
              problems = checkAnswer(req, r.status, r.contentType, r.text);
            } catch (err) {
              problems = [`no answer: ${(err as Error).message}`];
            }
            const key = `${surface(req)} ${status}`;
            byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
            if (problems.length > 0) {
              failures.push({ req, problems });
            }
          }
        })
      );
      done += n;
      if (chunk % 10 === 9) {
        process.stderr.write(`${done} cases, ${failures.length} failing, ${Math.round((Date.now() - started) / 1000)} s\n`);
      }
    }
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  const surfaces = [...new Set([...byStatus.keys()].map((k) => k.split(' ')[0]))].sort();
  const statuses = [...new Set([...byStatus.keys()].map((k) => k.split(' ').slice(1).join(' ')))].sort();
  console.log(`\n${runs} cases, seed ${seed}, concurrency ${concurrency}, ${seconds.toFixed(0)} s (${(runs / seconds).toFixed(0)} cases/s), load average at start ${load}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log(`| Surface | ${statuses.join(' | ')} | total |`);
  console.log(`|---|${statuses.map(() => '---:').join('|')}|---:|`);
  for (const s of surfaces) {
    const counts = statuses.map((st) => byStatus.get(`${s} ${st}`) ?? 0);
    console.log(`| ${s} | ${counts.join(' | ')} | ${counts.reduce((a, b) => a + b, 0)} |`);
  }
  console.log(`\nFailing cases: ${failures.length}`);
  for (const f of failures.slice(0, 50)) {
    console.log(JSON.stringify(f));
  }
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  }
);
