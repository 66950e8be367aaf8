/**
 * SIGTERM with a backlog (issue #8 item 7): the built service, syncing a backlog of several hundred
 * records to a real FHIR server, stops on SIGTERM well within a supervisor's 10 s (sends in flight
 * finished or abandoned safely), exits cleanly, loses nothing acknowledged, and after a restart every
 * permitted record ends on the target exactly once.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { buildService, type ChildService, startChild } from '../helpers/built-service.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, toNdjson } from '../sync/dataset.js';
import { verifyDelivery } from '../sync/verify.js';

const TOKEN = 'sigterm-test-token-0123456789';
const H = { authorization: `Bearer ${TOKEN}` };

async function api(svc: ChildService, method: string, path: string, body?: string, type = 'application/json'): Promise<any> {
  const res = await fetch(`${svc.url}${path}`, { method, headers: { ...H, ...(body ? { 'content-type': type } : {}) }, body });
  return res.json();
}

test('SIGTERM with a backlog ends the process promptly and cleanly; nothing acknowledged is lost; the sync then completes exactly once', async () => {
  const tmp = tempDir();
  const mainJs = buildService('sigterm');
  const data = buildDataset({ clients: 40, sessionsPerClient: 8, prefix: 't' });
  let target: FhirTarget | undefined;
  let svc: ChildService | undefined;
  try {
    target = await startFhirTarget('full', join(tmp.dir, 'target'));
    await target.seed(data.seed);
    const env = { DATA_DIR: join(tmp.dir, 'service'), API_TOKENS: TOKEN, FHIR_BASE_URL: target.url, LOG_LEVEL: 'info' };
    svc = await startChild(mainJs, env);
    for (let i = 0; i < data.records.length; i += 300) {
      const r = await api(svc, 'POST', '/api/v1/import', toNdjson(data.records.slice(i, i + 300)), 'application/x-ndjson');
      expect(r.rejected).toBe(0);
    }
    // Mid-backlog: some delivered, most still queued.
    for (;;) {
      const s = await api(svc, 'GET', '/api/v1/sync/status');
      if ((s.targets[target.url]?.synced ?? 0) >= 20) {
        expect(s.outbox).toBeGreaterThan(100);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const child = svc.child;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    // A supervisor sends SIGKILL 10 s after SIGTERM: the process must be gone before, and cleanly.
    const deadline = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref());
    const ended = await Promise.race([exited.then(() => 'exited' as const), deadline]);
    expect(ended).toBe('exited');
    expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: 0, signal: null });
    expect(svc.output()).toContain('"message":"stopping"');
    svc = undefined;

    // Everything acknowledged is in the store.
    const stopped = new SqliteStore(join(env.DATA_DIR, 'collateral.sqlite'));
    try {
      const missing = [];
      for (const r of data.records) {
        if (!(await stopped.records.getRecord(r.kind, r.record.id))) {
          missing.push(`${r.kind}/${r.record.id}`);
        }
      }
      expect(missing).toEqual([]);
    } finally {
      await stopped.close();
    }

    // Restarted, it finishes the backlog; each permitted record on the target exactly once.
    svc = await startChild(mainJs, env);
    const heldByConsent = data.forbidden.filter((r) => r.kind === 'participant').length;
    const settleBy = Date.now() + 120_000;
    for (;;) {
      const s = await api(svc, 'GET', '/api/v1/sync/status');
      const states = s.targets[target.url] ?? {};
      if (!states.pending && !states.failed && s.delivery[target.url]?.queued === heldByConsent) {
        break;
      }
      if (Date.now() > settleBy) {
        throw new Error(`the sync did not settle after the restart: ${JSON.stringify(s)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    svc.child.kill('SIGTERM');
    await once(svc.child, 'exit');
    svc = undefined;
    const store = new SqliteStore(join(env.DATA_DIR, 'collateral.sqlite'));
    try {
      const report = await verifyDelivery(target, store, target.url, data, { notWritable: [], provenance: true });
      expect(report.problems).toEqual([]);
      expect(report.figures.synced).toBe(data.permitted.length);
    } finally {
      await store.close();
    }
  } finally {
    if (svc) {
      svc.child.kill('SIGKILL');
    }
    await target?.close();
    tmp.cleanup();
  }
}, 240_000);
