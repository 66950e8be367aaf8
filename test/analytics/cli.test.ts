/**
 * `collateral-fhir views run|list` against the real service: CSV to standard output, Parquet to a
 * file (read back by hyparquet), refusals with the service's OperationOutcome and exit code 1, bad
 * usage exit code 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parquetReadObjects } from 'hyparquet';
import { viewsCommand, type ViewsIo } from '../../src/cli/views-command.js';
import { createPseudonymizer } from '../../src/deid/index.js';
import type { TestService } from '../helpers/service.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

function io(): ViewsIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return { stdout, stderr, env: {}, out: () => out, err: () => err };
}

describe('collateral-fhir views', () => {
  const tmp = tempDir();
  let svc: TestService;
  let ids: string[];
  const connection = (): string[] => ['--url', svc.url, '--token', svc.apiTokens[0]];

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ['finished', 'planned'].map((status) => ({
        resource: { resourceType: 'Encounter', status, class: { code: 'VR' }, subject: { reference: 'Patient/p1' }, period: { start: '2026-02-01T16:00:00-05:00' } },
        request: { method: 'POST', url: 'Encounter' },
      })),
    };
    const r = await svc.api('POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    ids = r.body.entry.map((e: any) => e.resource.id);
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('views run NAME --format csv writes the rows to standard output', async () => {
    const t = io();
    expect(await viewsCommand(['run', 'collateral_sessions', '--format', 'csv', '--identified', ...connection()], t)).toBe(0);
    const lines = t.out().trim().split('\r\n');
    expect(lines[0]).toMatch(/^session_key,client_key,month,/);
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toStrictEqual([...ids].sort());
    expect(t.err()).toBe('');
  });

  test('views run NAME without --identified: de-identified, keys are the DEID_KEY pseudonyms, dates shifted', async () => {
    const t = io();
    expect(await viewsCommand(['run', 'collateral_sessions', '--format', 'ndjson', ...connection()], t)).toBe(0);
    const rows = t.out().trim().split('\n').map((l) => JSON.parse(l));
    const pseudonyms = createPseudonymizer(svc.deid.key);
    expect(rows.map((r) => r.session_key).sort()).toStrictEqual(ids.map((id) => pseudonyms.hash(id)).sort());
    expect(rows.every((r) => r.client_key === pseudonyms.hash('p1'))).toBe(true);
    const offset = pseudonyms.offsetDays(pseudonyms.hash('p1'), svc.deid.policy.dateShiftRangeDays);
    const shifted = new Date(Date.UTC(2026, 1, 1 + offset)).toISOString().slice(0, 7);
    expect(rows.every((r) => r.month === shifted)).toBe(true);
  });

  test('views run NAME --format parquet --out FILE writes a Parquet file', async () => {
    const t = io();
    const file = join(tmp.dir, 'sessions.parquet');
    expect(await viewsCommand(['run', 'collateral_sessions', '--format', 'parquet', '--out', file, '--identified', '--limit', '1', ...connection()], t)).toBe(0);
    expect(t.err()).toMatch(/^Wrote .* to .*sessions\.parquet/);
    const bytes = readFileSync(file);
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client_key: 'p1', month: '2026-02', modality: 'VR' });
  });

  test("the service's refusals: the OperationOutcome on standard error, exit code 1", async () => {
    const badSince = io();
    expect(await viewsCommand(['run', 'collateral_sessions', '--format', 'ndjson', '--since', 'yesterday', ...connection()], badSince)).toBe(1);
    expect(badSince.err()).toContain('HTTP 400');
    expect(badSince.err()).toContain('valueInstant: (value) must be an instant'); // the value sent is not echoed (echo-guard.ts)
    const unknown = io();
    expect(await viewsCommand(['run', 'nope', '--format', 'json', ...connection()], unknown)).toBe(1);
    expect(unknown.err()).toContain('HTTP 404');
    const down = io();
    expect(await viewsCommand(['run', 'notes', '--format', 'json', '--url', 'http://127.0.0.1:9', '--token', 'x'], down)).toBe(1);
    expect(down.err()).toContain('No collateral-fhir service answers');
  });

  test('bad usage: exit code 2 with the usage', async () => {
    const t = io();
    expect(await viewsCommand(['run', 'notes', '--format', 'xml', ...connection()], t)).toBe(2);
    expect(t.err()).toContain('--format must be one of json, ndjson, csv, parquet');
    const u = io();
    expect(await viewsCommand(['frobnicate'], u)).toBe(2);
    expect(u.err()).toContain('views run NAME');
  });

  test('views list names the shipped views', async () => {
    const t = io();
    expect(await viewsCommand(['list'], t)).toBe(0);
    expect(t.out()).toMatch(/collateral_sessions\s+Encounter/);
    expect(t.out()).toMatch(/notes\s+DocumentReference/);
  });
});
