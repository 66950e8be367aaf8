/**
 * `collateral-fhir import FILE` against the real service: the file goes as a job, progress is drawn
 * while it runs, the summary and the rejected lines come at the end; the exit code says whether
 * everything was accepted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCommand, type ImportIo } from '../../src/cli/import-command.js';
import { etaSeconds, formatDuration, progressLine } from '../../src/cli/import-progress.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { participantLines } from './helpers.js';

function captureIo(env: Record<string, string> = {}): ImportIo & { stdout: () => string; stderr: () => string; drawn: () => string } {
  let out = '';
  let err = '';
  let drawn = '';
  return {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    env,
    progress: { write: (t) => (drawn += t), columns: 100 },
    stdout: () => out,
    stderr: () => err,
    drawn: () => drawn,
  };
}

describe('collateral-fhir import', () => {
  const tmp = tempDir();
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('sends the file as a job, draws progress, prints the summary and the rejected lines with their problems', async () => {
    const file = join(tmp.dir, 'records.ndjson');
    writeFileSync(file, `${participantLines('cli', 300)}not json\n{"kind":"participant","record":{"id":"p-x"}}\n${participantLines('cli', 5, 301)}`);
    const io = captureIo({ API_TOKEN: svc.apiTokens[0] });
    const code = await importCommand([file, '--url', svc.url], io, { pollMs: 20 });
    expect(code).toBe(1);
    expect(io.stdout()).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: completed, 307 lines read in [\\d.]+ s: 305 accepted, 0 unchanged, 2 rejected\\n`));
    expect(io.stdout()).toContain('  line 301: is not valid JSON\n');
    expect(io.stdout()).toContain('  line 302: /record/client: is required');
    expect(io.stdout()).toMatch(/All results \(NDJSON, one per line\): GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/import\/[0-9a-f-]{36}\/results/);
    expect(io.drawn()).toMatch(/\r\[[#.]+\] +\d+% {2}[\d,]+ lines {2}[\d,]+ lines\/s {2}ETA /);
    expect(io.drawn()).toContain('100%  307 lines');
    expect((await svc.api('GET', '/api/v1/participants/p-cli305')).status).toBe(200);

    // The same file again, minus the bad lines: everything unchanged, exit 0; --json prints the job.
    const clean = join(tmp.dir, 'clean.ndjson');
    writeFileSync(clean, participantLines('cli', 10));
    const io2 = captureIo();
    expect(await importCommand([clean, '--url', svc.url, '--token', svc.apiTokens[0], '--json'], io2, { pollMs: 20 })).toBe(0);
    expect(JSON.parse(io2.stdout())).toMatchObject({ state: 'completed', linesRead: 10, accepted: 0, unchanged: 10, rejected: 0 });
  });

  test('usage problems: a missing file, no token, a refused upload', async () => {
    const io = captureIo();
    expect(await importCommand([join(tmp.dir, 'nope.ndjson')], io)).toBe(2);
    expect(io.stderr()).toContain('No such file');
    const file = join(tmp.dir, 'one.ndjson');
    writeFileSync(file, participantLines('one', 1));
    const noToken = captureIo({ DATA_DIR: join(tmp.dir, 'empty') });
    expect(await importCommand([file, '--url', svc.url], noToken)).toBe(2);
    // It says what it tried, as every command that talks to the service does.
    expect(noToken.stderr()).toContain(`No API token for the service at ${svc.url} (URL from --url): --token is not given`);
    expect(noToken.stderr()).toContain(join(tmp.dir, 'empty', 'api-token'));
    const wrong = captureIo();
    expect(await importCommand([file, '--url', svc.url, '--token', 'wrong-token-0123456789'], wrong)).toBe(1);
    expect(wrong.stderr()).toContain(`The import was not accepted by ${svc.url} (from --url; token from --token): HTTP 401`);
  });
});

test('the progress line: bar, percentage, rate and time left from the bytes sent so far', () => {
  const p = { bytesSent: 250, totalBytes: 1000, linesRead: 12345, rejected: 2, linesPerSecond: 5123.4, elapsedSeconds: 10 };
  expect(etaSeconds(p)).toBe(30);
  expect(progressLine(p, 100)).toBe('[##########..............................]  25%  12,345 lines  5,123 lines/s  ETA 30s  (2 rejected)');
  expect(formatDuration(65)).toBe('1m05s');
  expect(formatDuration(3720)).toBe('1h02m');
  expect(formatDuration(Number.NaN)).toBe('?');
});
