/**
 * The README tour runs (issue #14 item 2): its marked shell blocks are run with bash, in order, against
 * the real service started on the embedded defaults in a temp directory, and every `# expect` line of
 * every step must hold. Only the port is substituted (in the setup's `B=`); the data directory is the
 * default `./data` of that temp directory, where the service generates its token, and `examples/` is the
 * project's. Needs bash and curl (CI installs curl).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { projectRoot } from '../../src/paths.js';
import { startService, type RunningService } from '../../src/service.js';
import { tempDir } from '../helpers/tmp.js';
import { repoFile } from './markdown.js';
import { parseExpectation, parseTour, unmet, type TourStep } from './tour.js';

const run = promisify(execFile);
const DEFAULT_BASE = 'B=http://127.0.0.1:8080';
const EVENTUALLY_MS = 120_000;
const tour = parseTour(repoFile('README.md'));

describe('the README tour is marked up for the test', () => {
  test('a setup block, steps numbered 1..N, every step with expectations, no unmarked shell block in the tour', () => {
    expect(tour.problems).toEqual([]);
    expect(tour.steps.length).toBeGreaterThanOrEqual(8);
  });

  test('the setup uses the defaults of npm start: the generated token in data/api-token, port 8080', () => {
    expect(tour.setup?.code).toContain('TOKEN=$(cat data/api-token)');
    expect(tour.setup?.code).toContain(DEFAULT_BASE);
  });

  test('the markup check itself finds a step without expectations and an unmarked block', () => {
    const bad = parseTour(
      '<!-- tour: setup -->\n```sh\nB=x\n```\n<!-- tour: step 1 -->\n```sh\ncurl $B\n```\n```sh\ncurl $B/other\n```\n<!-- tour: step 3 -->\n```sh\ncurl $B\n# expect 2: x\n```\n\n## Next\n'
    );
    expect(bad.problems).toEqual([
      'step 1 has no "# expect" line: write what it should print',
      expect.stringContaining('a sh block in the tour has no <!-- tour: step N --> marker'),
      expect.stringContaining('step 3: malformed expectation'),
      'step 3 follows step 1: number the steps 1, 2, 3...',
      'step 3 has no "# expect" line: write what it should print',
    ]);
    expect(unmet([parseExpectation('# expect 2x: ab') as never, parseExpectation('# expect not: zz') as never], 'ab ab zz')).toEqual([
      '# expect not: zz',
    ]);
  });
});

describe('the README tour, run against the service on its embedded defaults', () => {
  const tmp = tempDir('collateral-tour-');
  let service: RunningService;
  let setup: string;

  beforeAll(async () => {
    symlinkSync(join(projectRoot(), 'examples'), join(tmp.dir, 'examples'));
    mkdirSync(join(tmp.dir, 'data'));
    const logs = new PassThrough();
    logs.resume();
    // The embedded defaults: no API_TOKENS (a token is generated into data/api-token), embedded FHIR
    // server, default sync settings. Only the port (any free one) and the data directory differ.
    service = await startService(loadConfig({ PORT: '0', DATA_DIR: join(tmp.dir, 'data') }), { logStream: logs });
    setup = (tour.setup?.code ?? '').replace(DEFAULT_BASE, `B=${service.url}`);
  });
  afterAll(async () => {
    await service?.close();
    tmp.cleanup();
  });

  async function runStep(step: TourStep): Promise<{ output: string; failed: string[] }> {
    const { stdout, stderr } = await run('bash', ['-c', `${setup}\n${step.code}`], {
      cwd: tmp.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp.dir, LANG: 'C.UTF-8' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) }));
    const output = stdout + (stderr ? `\n[stderr] ${stderr}` : '');
    return { output, failed: unmet(step.expectations, stdout) };
  }

  test.each(tour.steps.map((s) => [s.n, s] as const))('step %i prints what the README says', async (_n, step) => {
    const eventually = step.expectations.some((e) => e.mode === 'eventually');
    const deadline = Date.now() + EVENTUALLY_MS;
    let result = await runStep(step);
    while (eventually && result.failed.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      result = await runStep(step);
    }
    if (result.failed.length > 0) {
      throw new Error(`README tour step ${step.n}: unmet ${result.failed.join(' | ')}\n--- output ---\n${result.output.slice(0, 3000)}`);
    }
  }, EVENTUALLY_MS + 30_000);
});
