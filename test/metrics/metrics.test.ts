/**
 * GET /metrics on the real service (embedded defaults, sync running): the text exposition format, for
 * operator and admin only, with records received by kind and result, the delivery state per target
 * (by state, queue depth, oldest pending age, dead letters, holds by reason), target responses by
 * status class, Node's process and event-loop metrics, and no identifier or PHI in any label.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { startFaultProxy } from '../../src/devtools/fault-proxy.js';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { TargetHealth } from '../../src/metrics/index.js';
import { projectRoot } from '../../src/paths.js';
import { registerStatusGauges } from '../../src/metrics/status-collector.js';
import { createSyncMetrics, statusClassOf } from '../../src/metrics/sync-metrics.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { openUpload, participantLines } from '../import/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { OPERATOR_TOKEN, seed, SOURCE_TOKEN, storedPhi, testKeysEnv } from '../console/seed.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the samples; comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not exposition format: ${l}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('GET /metrics', () => {
  const tmp = tempDir();
  let svc: TestService;
  const scrape = async (): Promise<Sample[]> => {
    const res = await svc.api('GET', '/metrics', undefined, { authorization: `Bearer ${OPERATOR_TOKEN}` });
    expect(res.status).toBe(200);
    return parse(res.text);
  };

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_MAX_ATTEMPTS: '2', ...testKeysEnv() });
    await seed(svc);
  }, 180_000);
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('is for operator and admin, in the text exposition format', async () => {
    expect((await fetch(`${svc.url}/metrics`)).status).toBe(401);
    expect((await svc.api('GET', '/metrics', undefined, { authorization: `Bearer ${SOURCE_TOKEN}` })).status).toBe(403);
    const res = await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;/);
    expect(res.headers.get('content-type')).toContain('version=0.0.4');
    const admin = await svc.api('GET', '/metrics');
    expect(admin.status).toBe(200);
    expect(admin.text).toMatch(/# TYPE collateral_sync_latency_seconds histogram/);
    expect(admin.text).toMatch(/# TYPE collateral_sync_attempts histogram/);
    expect(admin.text).toMatch(/# TYPE collateral_sync_attempt_duration_seconds histogram/);
  });

  test('the delivery state per target: records by state, queue, oldest pending age, dead letters, holds by reason', async () => {
    const s = await scrape();
    expect(value(s, 'collateral_records', { target: 'embedded', state: 'synced' })).toBe(4);
    expect(value(s, 'collateral_records', { target: 'embedded', state: 'dead-letter' })).toBe(1);
    expect(value(s, 'collateral_dead_letters', { target: 'embedded' })).toBe(1);
    expect(value(s, 'collateral_held_records', { target: 'embedded', reason: 'no-consent' })).toBe(2);
    expect(value(s, 'collateral_held_records', { target: 'embedded', reason: 'patient-not-found' })).toBe(2);
    const queued = value(s, 'collateral_queue_depth', { target: 'embedded' }) ?? 0;
    expect(queued).toBeGreaterThanOrEqual(4);
    expect(value(s, 'collateral_oldest_pending_age_seconds', { target: 'embedded' })).toBeGreaterThan(0);
    // The same figures as the status API.
    const status = (await svc.api('GET', '/api/v1/sync/status')).body;
    expect(queued).toBe(status.delivery.embedded.queued);
  });

  test('records received by kind and result: accepted, unchanged, rejected (PUT and import)', async () => {
    const before = await scrape();
    const p = { id: 'p-metrics', client: { mrn: 'MRN-1001' }, relationship: 'coach' };
    await svc.api('PUT', '/api/v1/participants/p-metrics', p);
    await svc.api('PUT', '/api/v1/participants/p-metrics', p);
    expect((await svc.api('PUT', '/api/v1/sessions/s-bad', { id: 's-bad', type: 'group' })).status).toBe(400);
    const ndjson = [JSON.stringify({ kind: 'note', record: { id: 'n-bad' } }), JSON.stringify({ kind: 'consent', record: { id: 'x' } }), '{not json'].join('\n');
    await svc.api('POST', '/api/v1/import', ndjson, { 'content-type': 'application/x-ndjson' });
    const after = await scrape();
    const delta = (labels: Record<string, string>): number =>
      (value(after, 'collateral_records_received_total', labels) ?? 0) - (value(before, 'collateral_records_received_total', labels) ?? 0);
    expect(delta({ kind: 'participant', result: 'accepted' })).toBe(1);
    expect(delta({ kind: 'participant', result: 'unchanged' })).toBe(1);
    expect(delta({ kind: 'session', result: 'rejected' })).toBe(1);
    expect(delta({ kind: 'unknown', result: 'rejected' })).toBe(3);
    expect(value(after, 'collateral_records_received_total', { kind: 'consent', result: 'accepted' })).toBe(3);
  });

  test('the sync per target: attempts by outcome, claim and send durations, attempts and latency of settled versions', async () => {
    const s = await scrape();
    const t = { target: 'embedded' };
    // The seed: 4 records synced, 1 parked as a dead letter after 2 attempts (SYNC_MAX_ATTEMPTS), 4 held.
    expect(value(s, 'collateral_sync_attempts_total', { ...t, outcome: 'synced' })).toBeGreaterThanOrEqual(4);
    expect(value(s, 'collateral_sync_attempts_total', { ...t, outcome: 'dead-letter' })).toBe(1);
    expect(value(s, 'collateral_sync_attempts_total', { ...t, outcome: 'held' })).toBeGreaterThanOrEqual(4);
    expect(value(s, 'collateral_sync_attempts_total', { ...t, outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'collateral_sync_attempt_duration_seconds_count', { ...t, outcome: 'synced' })).toBe(value(s, 'collateral_sync_attempts_total', { ...t, outcome: 'synced' }));
    // The dead letter's attempts (every attempt at its version, holds included) as the store counts them.
    const [dead] = await svc.store.status.getSyncStates('participant', 'p-dup');
    expect(dead.state).toBe('dead-letter');
    expect(value(s, 'collateral_sync_attempts_sum', { ...t, outcome: 'dead-letter' })).toBe(dead.attempts);
    expect(value(s, 'collateral_sync_attempts_count', { ...t, outcome: 'dead-letter' })).toBe(1);
    expect(value(s, 'collateral_sync_latency_seconds_count', { ...t, outcome: 'synced' })).toBeGreaterThanOrEqual(4);
    // Every claim is timed (most find nothing due); the entries handed out cover every attempt.
    const claims = value(s, 'collateral_sync_claim_duration_seconds_count', t) ?? 0;
    expect(claims).toBeGreaterThanOrEqual(1);
    // Once nothing is in flight, every entry handed out was settled once.
    const settledAll = (x: Sample[]): number => x.filter((y) => y.name === 'collateral_sync_attempts_total' && y.labels.target === 'embedded').reduce((a, y) => a + y.value, 0);
    await waitFor(async () => {
      const now = await scrape();
      return value(now, 'collateral_sync_claimed_total', t) === settledAll(now);
    }, 30_000, 'every claimed entry to be settled');
    // The embedded server takes transactions: the writes went as transaction Bundles.
    expect(value(s, 'collateral_sync_send_duration_seconds_count', { ...t, mode: 'transaction' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'collateral_sync_sent_records_total', { ...t, mode: 'transaction' })).toBeGreaterThanOrEqual(5);
  });

  test("an import job's progress while it runs, and its records by kind and result once committed", async () => {
    const before = await scrape();
    const upload = openUpload(svc.url, svc.apiTokens[0]);
    // A chunk (100 lines) commits while the body is still open; then 50 more and a broken line.
    await upload.write(participantLines('metrics-job', 100));
    await waitFor(async () => value(await scrape(), 'collateral_import_running_lines', { progress: 'read' }) === 100, 60_000, 'the first chunk to commit');
    const running = await scrape();
    expect(value(running, 'collateral_import_jobs_running')).toBe(1);
    expect(value(running, 'collateral_import_running_lines', { progress: 'accepted' })).toBe(100);
    await upload.write(participantLines('metrics-job', 50, 101));
    await upload.write('{not json\n');
    upload.req.end();
    const res = await upload.response;
    expect(res.statusCode).toBe(202);
    await upload.text(res);
    const after = await waitFor(async () => {
      const now = await scrape();
      return value(now, 'collateral_import_jobs_running') === 0 ? now : undefined;
    }, 60_000, 'the job to end');
    const delta = (labels: Record<string, string>): number =>
      (value(after, 'collateral_records_received_total', labels) ?? 0) - (value(before, 'collateral_records_received_total', labels) ?? 0);
    expect(delta({ kind: 'participant', result: 'accepted' })).toBe(150);
    expect(delta({ kind: 'unknown', result: 'rejected' })).toBe(1);
    expect(value(after, 'collateral_import_running_lines', { progress: 'read' })).toBe(0);
  });

  test("the target's answers by operation and status class, and Node's process and event-loop metrics", async () => {
    const s = await scrape();
    // Records of several clients share a transaction Bundle: at least one, as many as the sends.
    expect(value(s, 'collateral_target_responses_total', { operation: 'transaction', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'collateral_target_responses_total', { operation: 'search', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'collateral_target_request_duration_seconds_count', { operation: 'transaction' })).toBeGreaterThanOrEqual(value(s, 'collateral_sync_send_duration_seconds_count', { target: 'embedded', mode: 'transaction' }) ?? 1);
    expect(value(s, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(s, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(s, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(s, 'collateral_import_jobs_running')).toBe(0);
  });

  test('the Grafana dashboard and the alert rules use only metrics the service exposes', async () => {
    const exposed = new Set((await svc.api('GET', '/metrics')).text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
    for (const file of ['docs/grafana-dashboard.json', 'docs/alerts.yml']) {
      const text = readFileSync(join(projectRoot(), file), 'utf8');
      const used = [...new Set(text.match(/\b(collateral|nodejs|process)_[a-z0-9_]+/g) ?? [])];
      expect(used.length).toBeGreaterThan(5);
      const unknown = used.filter((m) => !exposed.has(m) && !exposed.has(m.replace(/_(bucket|sum|count)$/, '')));
      expect({ file, unknown }).toEqual({ file, unknown: [] });
    }
    expect(JSON.parse(readFileSync(join(projectRoot(), 'docs/grafana-dashboard.json'), 'utf8')).panels.length).toBeGreaterThan(10);
  });

  test('no identifier or PHI in any label', async () => {
    const s = await scrape();
    const phi = await storedPhi(svc);
    const ids = (await svc.store.records.listRecords({})).map((r) => r.id);
    const labelValues = [...new Set(s.flatMap((x) => Object.values(x.labels)))];
    const leaked = labelValues.filter((v) => phi.some((p) => v.includes(p)) || ids.includes(v));
    expect(leaked).toEqual([]);
    const labelNames = new Set(s.filter((x) => x.name.startsWith('collateral_')).flatMap((x) => Object.keys(x.labels)));
    expect([...labelNames].sort()).toEqual(expect.arrayContaining(['kind', 'operation', 'reason', 'result', 'state', 'status_class', 'target']));
    for (const n of labelNames) {
      expect(['kind', 'le', 'mode', 'operation', 'outcome', 'progress', 'reason', 'result', 'state', 'status_class', 'target']).toContain(n);
    }
  });
});

describe('metrics parts', () => {
  test('SyncMetrics: attempts by outcome, durations, settled latency and attempts, claims, sends, target responses and pauses', async () => {
    const registry = new Registry();
    const m = createSyncMetrics(registry);
    const entry = (attempts: number) => ({ seq: 1, kind: 'participant' as const, recordId: 'p-1', target: 't', recordVersion: 1, clientKey: 'MRN-1', attempts });
    const ok = { changed: true, superseded: false, rewoken: false };
    const startedAt = Date.now() - 120;
    m.observeSettlements(
      't',
      [
        { entry: entry(2), state: 'synced', ledger: [] },
        { entry: entry(0), state: 'held', reason: 'r', code: 'no-consent', recheckAt: new Date() },
        { entry: entry(1), state: 'dead-letter', reason: 'r', code: 'conflict' },
        { entry: entry(0), state: 'synced', ledger: [] },
      ],
      [ok, ok, ok, { ...ok, superseded: true }],
      startedAt,
      [new Date(Date.now() - 42_000).toISOString(), undefined, new Date(Date.now() - 600_000).toISOString()]
    );
    m.observeClaim('t', 3, 4);
    m.observeSend('t', 'batch', 250, 3);
    m.observeTargetResponse('429', 'transaction', 30);
    m.observeTargetResponse('2xx', 'not-an-operation', 5);
    m.observeTargetPause(30);
    const s = parse(await registry.metrics());
    expect(value(s, 'collateral_sync_attempts_total', { target: 't', outcome: 'synced' })).toBe(1);
    expect(value(s, 'collateral_sync_attempts_total', { target: 't', outcome: 'superseded' })).toBe(1);
    expect(value(s, 'collateral_sync_attempts_total', { target: 't', outcome: 'held' })).toBe(1);
    expect(value(s, 'collateral_sync_attempt_duration_seconds_bucket', { target: 't', outcome: 'synced', le: '0.25' })).toBe(1);
    expect(value(s, 'collateral_sync_attempt_duration_seconds_bucket', { target: 't', outcome: 'synced', le: '0.1' })).toBe(0);
    // A held or superseded attempt has not settled its version: no attempts-per-version or latency sample.
    expect(value(s, 'collateral_sync_attempts_count', { target: 't', outcome: 'synced' })).toBe(1);
    expect(value(s, 'collateral_sync_attempts_count', { target: 't', outcome: 'held' })).toBeUndefined();
    expect(value(s, 'collateral_sync_attempts_bucket', { target: 't', outcome: 'synced', le: '3' })).toBe(1);
    expect(value(s, 'collateral_sync_attempts_bucket', { target: 't', outcome: 'synced', le: '2' })).toBe(0);
    expect(Math.round(value(s, 'collateral_sync_latency_seconds_sum', { target: 't', outcome: 'dead-letter' }) ?? 0)).toBe(600);
    expect(Math.round(value(s, 'collateral_sync_latency_seconds_sum', { target: 't', outcome: 'synced' }) ?? 0)).toBe(42);
    expect(value(s, 'collateral_sync_claim_duration_seconds_bucket', { target: 't', le: '0.005' })).toBe(1);
    expect(value(s, 'collateral_sync_claimed_total', { target: 't' })).toBe(4);
    expect(value(s, 'collateral_sync_send_duration_seconds_bucket', { target: 't', mode: 'batch', le: '0.1' })).toBe(0);
    expect(value(s, 'collateral_sync_send_duration_seconds_bucket', { target: 't', mode: 'batch', le: '0.25' })).toBe(1);
    expect(value(s, 'collateral_sync_sent_records_total', { target: 't', mode: 'batch' })).toBe(3);
    expect(value(s, 'collateral_target_responses_total', { operation: 'transaction', status_class: '429' })).toBe(1);
    expect(value(s, 'collateral_target_responses_total', { operation: 'other', status_class: '2xx' })).toBe(1);
    expect(value(s, 'collateral_target_pauses_total')).toBe(1);
    expect(value(s, 'collateral_target_last_pause_seconds')).toBe(30);
    expect([0, 200, 302, 404, 429, 503].map(statusClassOf)).toEqual(['none', '2xx', '3xx', '4xx', '429', '5xx']);
  });

  test('one status read serves every gauge of a scrape', async () => {
    const registry = new Registry();
    let reads = 0;
    registerStatusGauges(registry, {
      targetStatus: async () => {
        reads++;
        return [{ target: 't', states: { held: 2 }, queued: 2, deadLetters: 0, heldBy: { 'no-consent': 2 }, oldestPendingAt: new Date(Date.now() - 5000).toISOString() }];
      },
    });
    const s = parse(await registry.metrics());
    expect(reads).toBe(1);
    expect(value(s, 'collateral_held_records', { target: 't', reason: 'no-consent' })).toBe(2);
    expect(value(s, 'collateral_oldest_pending_age_seconds', { target: 't' })).toBeGreaterThanOrEqual(5);
  });

  test("the FHIR client's hook sees a real 429 with its Retry-After; the target's health shows the pause", async () => {
    // A server that answers every search with an empty Bundle; the fault proxy in front throttles.
    const upstream = await new Promise<Server>((resolve) => {
      const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Bundle","type":"searchset"}'));
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    const port = (upstream.address() as AddressInfo).port;
    const proxy = await startFaultProxy({ target: `http://127.0.0.1:${port}/fhir`, seed: 7, rates: { throttle: 1 }, retryAfterSeconds: 30 });
    const health = new TargetHealth();
    const seen: { status: number; retryAfterSeconds?: number; operation: string }[] = [];
    const target = createKitClientTarget({
      name: 't',
      baseUrl: proxy.url,
      timeoutMs: 5000,
      onResponse: (r) => {
        seen.push(r);
        health.observe(r.status, r.retryAfterSeconds);
      },
    });
    try {
      await expect(target.search('Patient', { identifier: 'x' })).rejects.toThrow();
      proxy.setRates({});
      await target.search('Patient', { identifier: 'x' });
      expect(seen.map((r) => [r.operation, r.status, r.retryAfterSeconds])).toEqual([
        ['search', 429, 30],
        ['search', 200, undefined],
      ]);
      const h = health.snapshot();
      expect(h).toMatchObject({ throttledLastHour: 1, lastRetryAfterSeconds: 30, lastStatusClass: '2xx', consecutiveFailures: 0, requests: 2 });
      expect(Date.parse(h.pausedUntil as string)).toBeGreaterThan(Date.now() + 20_000);
      expect(health.snapshot(Date.now() + 3_700_000)).toMatchObject({ throttledLastHour: 0 });
      expect(health.snapshot(Date.now() + 3_700_000).pausedUntil).toBeUndefined();
    } finally {
      await proxy.close();
      upstream.close();
    }
  });
});
