/**
 * Several instances sharing one PostgreSQL (issue #12): three built services as child processes on one
 * database and one FHIR target (the standalone embedded server) behind the seeded fault proxy
 * (INSTANCES_SEED reproduces the faults), 1,000+ records of 20 clients imported
 * through all three in turn, one instance killed with SIGKILL mid-run and restarted. At the end every
 * permitted record is on the target exactly once, nothing forbidden is there, the ledger agrees with the
 * target (verifyDelivery), each resource's version history on the target follows the record's versions
 * (new versions sent through different instances mid-run never arrive out of order), and more than one
 * instance did the sending. (Records of one client are not checked for creation order: a failed attempt
 * waits out its backoff while the client's later records go, by design, in every store.)
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../src/devtools/fault-proxy.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { buildService, type ChildService, startChild } from '../helpers/built-service.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { freshDatabase, POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, type DatasetRecord, identifierOf, toNdjson } from '../sync/dataset.js';
import { verifyDelivery } from '../sync/verify.js';

const TOKEN = 'instances-test-token-0123456789';
const SEED = Number(process.env.INSTANCES_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Three services start on a 2-core machine shared with other suites: each may take a while. */
const START_TIMEOUT_MS = 90_000;
const progress = (what: string): void => {
  process.stderr.write(`instances.test: ${new Date().toISOString()} ${what}\n`);
};
const H = { authorization: `Bearer ${TOKEN}` };

async function api(svc: ChildService, method: string, path: string, body?: string, type = 'application/json'): Promise<any> {
  const res = await fetch(`${svc.url}${path}`, { method, headers: { ...H, ...(body ? { 'content-type': type } : {}) }, body });
  return res.json();
}

async function killHard(svc: ChildService): Promise<void> {
  svc.child.kill('SIGKILL');
  if (svc.child.exitCode === null && svc.child.signalCode === null) {
    await once(svc.child, 'exit');
  }
}

/** The family names of every version of the resource with this identifier, oldest first (the target's history). */
async function familyHistory(target: FhirTarget, r: DatasetRecord): Promise<string[]> {
  const { type, system, value } = identifierOf(r);
  const found = await target.search(type, { identifier: `${system}|${value}` });
  expect(found).toHaveLength(1);
  const res = await fetch(`${target.adminUrl}/${type}/${found[0].id}/_history?_count=1000`, { headers: { accept: 'application/fhir+json' } });
  const history = (await res.json()) as { entry: { resource: { meta: { versionId: string }; name?: { family?: string }[] } }[] };
  return history.entry
    .map((e) => e.resource)
    .sort((x, y) => Number(x.meta.versionId) - Number(y.meta.versionId))
    .map((x) => x.name?.[0]?.family ?? '');
}

if (!TEST_DATABASE_URL) {
  describe('several instances on one PostgreSQL', () => {
    process.stderr.write(`test/e2e/instances.test.ts: ${POSTGRES_SKIPPED}\n`);
    test.skip(POSTGRES_SKIPPED, () => {});
  });
} else {
  test('three instances, one killed -9 and restarted: every permitted record on the target exactly once, versions in order on the target', async () => {
    const tmp = tempDir();
    const db = await freshDatabase('e2e_instances');
    const mainJs = buildService('instances');
    const data = buildDataset({ clients: 20, sessionsPerClient: 24, prefix: 'n' });
    expect(data.records.length).toBeGreaterThanOrEqual(1000);
    let target: FhirTarget | undefined;
    let proxy: FaultProxy | undefined;
    const services: (ChildService | undefined)[] = [];
    const logs: string[] = [];
    try {
      target = await startFhirTarget('full', join(tmp.dir, 'target'));
      await target.seed(data.seed);
      // Behind the fault proxy: throttling, hangs, and answers lost after the target applied the write.
      proxy = await startFaultProxy({
        target: target.url,
        seed: SEED,
        retryAfterSeconds: 1,
        slowMs: 150,
        rates: { throttle: 0.001, 'unavailable-no-retry-after': 0.01, slow: 0.01, 'timeout-after-forward': 0.005, 'reset-after-forward': 0.01 },
      });
      const targetName = proxy.url;
      const env = (i: number): Record<string, string> => ({
        DATA_DIR: join(tmp.dir, `instance-${i}`),
        DATABASE_URL: db.url,
        API_TOKENS: TOKEN,
        FHIR_BASE_URL: targetName,
        // Slow polling: the other instances' commits wake each worker (LISTEN/NOTIFY).
        SYNC_POLL_INTERVAL_MS: '2000',
        SYNC_MIN_BACKOFF_MS: '50',
        SYNC_MAX_BACKOFF_MS: '500',
        SYNC_CONCURRENCY: '4',
        SYNC_MAX_BUNDLE_ENTRIES: '10',
        FHIR_REQUEST_TIMEOUT_MS: '3000',
        SYNC_MAX_ATTEMPTS: '1000',
        LOG_LEVEL: 'info',
      });
      for (let i = 0; i < 3; i++) {
        services.push(await startChild(mainJs, env(i), START_TIMEOUT_MS));
      }
      const batches: DatasetRecord[][] = [];
      for (let i = 0; i < data.records.length; i += 25) {
        batches.push(data.records.slice(i, i + 25));
      }
      // Batches go to the instances in turn; instance 1 dies at a random point of the second half.
      const killAt = Math.floor(batches.length / 2) + Math.floor(Math.random() * (batches.length / 4));
      for (let b = 0; b < batches.length; b++) {
        const alive = services.filter((s, i) => s && !(i === 1 && b >= killAt));
        const svc = alive[b % alive.length]!;
        const r = await api(svc, 'POST', '/api/v1/import', toNdjson(batches[b]), 'application/x-ndjson');
        expect(r.rejected).toBe(0);
        if (b === killAt) {
          await killHard(services[1]!);
          logs.push(services[1]!.output());
          services[1] = undefined;
        }
      }
      progress(`instance 1 killed at batch ${killAt} of ${batches.length}; restarting`);
      services[1] = await startChild(mainJs, env(1), START_TIMEOUT_MS);
      progress('instance 1 restarted');

      // New versions of every guardian while the sync runs: version 2 through one instance, 3 through another.
      const guardians = data.permitted.filter((r) => r.kind === 'participant' && r.record.id.endsWith('-guardian'));
      for (const [version, svc] of [
        [2, services[2]!],
        [3, services[0]!],
      ] as const) {
        for (const g of guardians) {
          const name = g.record.name as { given: string[]; family: string };
          const body = JSON.stringify({ ...g.record, name: { ...name, family: `${name.family}-v${version}` } });
          const res = await fetch(`${svc.url}/api/v1/participants/${g.record.id}`, { method: 'PUT', headers: { ...H, 'content-type': 'application/json' }, body });
          expect(res.status).toBeLessThan(300);
          await res.arrayBuffer();
        }
      }
      progress('all batches imported, guardians updated; waiting for the sync');
      const heldByConsent = data.forbidden.filter((r) => r.kind === 'participant').length;
      const deadline = Date.now() + 240_000;
      let status: any;
      for (;;) {
        status = await api(services[0]!, 'GET', '/api/v1/sync/status');
        const states = status.targets[targetName] ?? {};
        if (!states.pending && !states.failed && status.delivery[targetName]?.queued === heldByConsent) {
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(`the sync did not settle: ${JSON.stringify(status)}`);
        }
        await new Promise((res) => setTimeout(res, 250));
      }
      for (const s of services) {
        logs.push(s!.output());
        s!.child.kill('SIGTERM');
        await once(s!.child, 'exit');
      }
      services.length = 0;

      const store = await PostgresStore.open({ connectionString: db.url });
      try {
        const report = await verifyDelivery(target, store, targetName, data, { notWritable: [], provenance: true });
        expect({ seed: SEED, problems: report.problems }).toEqual({ seed: SEED, problems: [] });
        expect(report.figures.synced).toBe(data.permitted.length);
      } finally {
        await store.close();
      }
      // Per record, the target's version history never goes back: versions 2 and 3 of each guardian, sent
      // through two different instances while the sync ran, arrive in order (coalesced or not), and the
      // last one is what the target holds.
      for (const g of guardians) {
        const families = await familyHistory(target, g);
        const versions = families.map((f) => (f.endsWith('-v3') ? 3 : f.endsWith('-v2') ? 2 : 1));
        expect({ id: g.record.id, versions }).toEqual({ id: g.record.id, versions: [...versions].sort() });
        expect({ id: g.record.id, last: versions[versions.length - 1] }).toEqual({ id: g.record.id, last: 3 });
      }
      // The faults happened, including answers lost after the target applied the write.
      const injected = proxy.stats().injected;
      expect(injected['reset-after-forward'] + injected['timeout-after-forward']).toBeGreaterThan(0);
      // The work was shared: more than one instance sent records.
      const sending = logs.filter((l) => l.includes('record synced')).length;
      expect(sending).toBeGreaterThan(1);
    } finally {
      for (const s of services) {
        if (s) {
          await killHard(s);
        }
      }
      await proxy?.close();
      await target?.close();
      await db.drop().catch(() => {});
      tmp.cleanup();
    }
  }, 400_000);
}
