/**
 * The delivery invariant (issue #5 "How to prove it"): several hundred records across several clients,
 * the built service as a child process syncing to each target profile (oracle-like first: batch, no
 * conditional operations, no identifier search on DocumentReference, the hardest for exactly-once;
 * then full, transactions; then epic-like, sequential, notes only; then medplum-like, transactions that
 * are not atomic and 409s per entry) through the seeded fault proxy (429/503 with Retry-After, slow answers, hangs, resets after the server applied
 * the write), killed with SIGKILL twice at seeded random moments (once during intake, once during sync)
 * and restarted. At the end every permitted record is on the server exactly once (counted by identifier
 * on the admin side), nothing permitted is missing, nothing forbidden is there, and the ledger matches
 * the server. INVARIANT_SEED reproduces a run (the seed is in the assertion on failure).
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { mulberry32, startFaultProxy, type FaultProxy } from '../../src/devtools/fault-proxy.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { buildService, type ChildService, startChild } from '../helpers/built-service.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import type { RecordKind } from '../../src/domain/records.js';
import type { MedplumLikeOptions } from '../../src/fhir-server/medplum-options.js';
import type { ProfileName } from '../../src/fhir-server/target-profiles.js';
import { buildDataset, type DatasetRecord, toNdjson } from '../sync/dataset.js';
import { verifyDelivery } from '../sync/verify.js';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { verifyTarget } from '../../src/sync/verify-target.js';
import { verifyCopy } from '../local-copy/verify-copy.js';

const TOKEN = 'invariant-test-token-0123456789';
const H = { authorization: `Bearer ${TOKEN}` };
const SEED = Number(process.env.INVARIANT_SEED ?? Math.floor(Math.random() * 2 ** 31));

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

const PROFILES: { profile: ProfileName; notWritable: RecordKind[]; provenance: boolean; medplum?: MedplumLikeOptions }[] = [
  { profile: 'oracle-like', notWritable: ['consent'], provenance: true },
  { profile: 'full', notWritable: [], provenance: true },
  { profile: 'epic-like', notWritable: ['participant', 'consent', 'session'], provenance: false },
  // Medplum as issue #9 met it: declared transactions applied entry by entry, and 409 serialization
  // conflicts answered per entry inside a 200 (2 % of writes, from the same seed).
  { profile: 'medplum-like', notWritable: [], provenance: true, medplum: { atomicTransactions: false, conflictRate: 0.02, seed: SEED } },
];

/** What verify-target may list as not checked on each profile. */
const VERIFY_GAPS: Record<ProfileName, RegExp[]> = {
  'oracle-like': [/^duplicates of \d+ DocumentReference identifiers looked for among the same patients' DocumentReference only/, /earlier version of a type the target cannot vread/],
  full: [],
  'epic-like': [/^orphan and duplicate Provenances: the target cannot search Provenance by _tag$/],
  'medplum-like': [],
};

let mainJs: string;
beforeAll(() => {
  mainJs = buildService('invariant');
});

test.each(PROFILES)(`$profile: every permitted record ends on the target exactly once through faults and two kill -9 (seed ${SEED})`, async ({ profile, notWritable, provenance, medplum }) => {
  const random = mulberry32(SEED); // the fault proxy's PRNG: the kill moments follow the seed too
  const tmp = tempDir();
  const data = buildDataset({ clients: 8, sessionsPerClient: 20, prefix: 'i' });
  let target: FhirTarget | undefined;
  let proxy: FaultProxy | undefined;
  let svc: ChildService | undefined;
  try {
    target = await startFhirTarget(profile, join(tmp.dir, 'target'), medplum ? { medplum } : {});
    await target.seed(data.seed);
    proxy = await startFaultProxy({
      target: target.url,
      seed: SEED,
      retryAfterSeconds: 1,
      slowMs: 150,
      rates: {
        // Each 429/503 with Retry-After pauses the whole target for a second: rare, or the run takes minutes.
        throttle: 0.0015,
        unavailable: 0.0015,
        'unavailable-no-retry-after': 0.02,
        slow: 0.02,
        timeout: 0.005,
        'timeout-after-forward': 0.01,
        'reset-after-forward': 0.02,
      },
    });
    const env = {
      DATA_DIR: join(tmp.dir, 'service'),
      API_TOKENS: TOKEN,
      FHIR_BASE_URL: proxy.url,
      // Short enough that hangs cost little, long enough that a busy 2-core machine answers in time.
      FHIR_REQUEST_TIMEOUT_MS: '1500',
      SYNC_POLL_INTERVAL_MS: '20',
      SYNC_MIN_BACKOFF_MS: '20',
      SYNC_MAX_BACKOFF_MS: '300',
      SYNC_CONCURRENCY: '8',
      // Faults are transient here: a record must never run out of retries (parking is tested elsewhere).
      SYNC_MAX_ATTEMPTS: '1000',
      LOG_LEVEL: 'info',
    };
    const logs: string[] = [];
    const lines = data.records;
    const batches: DatasetRecord[][] = [];
    for (let i = 0; i < lines.length; i += 30) {
      batches.push(lines.slice(i, i + 30));
    }

    // 1. Intake in batches while the sync runs; SIGKILL after a seeded number of acknowledged batches.
    svc = await startChild(mainJs, env);
    const killAfter = 2 + Math.floor(random() * (batches.length - 4));
    let acked = 0;
    for (const batch of batches) {
      const r = await api(svc, 'POST', '/api/v1/import', toNdjson(batch), 'application/x-ndjson');
      expect(r.rejected).toBe(0);
      acked++;
      if (acked === killAfter) {
        await new Promise((res) => setTimeout(res, Math.floor(random() * 100)));
        await killHard(svc);
        logs.push(svc.output());
        break;
      }
    }

    // 2. Restart; the practice system resends everything it is not sure of (here: all of it, an idempotent resend).
    svc = await startChild(mainJs, env);
    const afterFirstKill = await api(svc, 'GET', '/api/v1/sync/status');
    for (const batch of batches) {
      const r = await api(svc, 'POST', '/api/v1/import', toNdjson(batch), 'application/x-ndjson');
      expect(r.rejected).toBe(0);
    }
    // SIGKILL again mid-sync: once a seeded share of the permitted records is delivered.
    const share = 0.2 + random() * 0.5;
    const delivered = async (s: ChildService): Promise<number> => {
      const states = (await api(s, 'GET', '/api/v1/sync/status')).targets[proxy!.url] ?? {};
      return (states.synced ?? 0) + (states['not-writable'] ?? 0);
    };
    while ((await delivered(svc)) < share * data.permitted.length) {
      await new Promise((res) => setTimeout(res, 20));
    }
    await killHard(svc);
    logs.push(svc.output());

    // 3. Restart and let it finish: nothing pending or failing, only the records the consent gate holds wait.
    svc = await startChild(mainJs, env);
    const heldByConsent = data.forbidden.filter((r) => r.kind === 'participant').length;
    const deadline = Date.now() + 90_000;
    let status: any;
    for (;;) {
      status = await api(svc, 'GET', '/api/v1/sync/status');
      const states = status.targets[proxy.url] ?? {};
      if (!states.pending && !states.failed && status.delivery[proxy.url]?.queued === heldByConsent) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`seed ${SEED}: the sync did not settle: ${JSON.stringify(status)}`);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    logs.push(svc.output());
    svc.child.kill('SIGTERM');
    await once(svc.child, 'exit');
    svc = undefined;

    // 4. The invariant, from the target's admin side and the service's own store.
    const store = new SqliteStore(join(env.DATA_DIR, 'collateral.sqlite'));
    try {
      const report = await verifyDelivery(target, store, proxy.url, data, { notWritable, provenance });
      expect({ seed: SEED, problems: report.problems }).toEqual({ seed: SEED, problems: [] });
      expect(report.figures.synced + report.figures.notWritable).toBe(data.permitted.length);
      expect(data.records.length).toBeGreaterThanOrEqual(300);
      // verify-target's own check (issue #9 item 2), through the profile's API as the CLI would see it
      // (directly, not through the fault proxy): no missing, changed or duplicated resource, no orphan Provenance.
      const ledger = await store.ledger.listLedger(proxy.url);
      const checked = await verifyTarget({
        target: createKitClientTarget({ name: proxy.url, baseUrl: target.url, timeoutMs: 30_000 }),
        targetName: proxy.url,
        ledger,
        ns: 'https://fhir.example-practice.org',
      });
      expect({ seed: SEED, problems: checked.problems }).toEqual({ seed: SEED, problems: [] });
      expect(checked.checked.ledgerEntries).toBe(ledger.length);
      expect(checked.checked.provenances).toBe(ledger.filter((l) => l.resourceType === 'Provenance').length);
      // Only the gaps the profile explains (docs/sync.md 10a): oracle-like has no identifier search on
      // DocumentReference and no vread; epic-like no Provenance search. Nothing else goes unchecked.
      expect(checked.notChecked.filter((n) => !VERIFY_GAPS[profile].some((gap) => gap.test(n)))).toEqual([]);
      // The copy of what was sent (issue #11 item 2) holds exactly what the ledger says the target holds,
      // at the versions it names, through the lost answers and the kills.
      const copy = await verifyCopy(env.DATA_DIR, proxy.url, ledger, target.adminUrl);
      expect({ seed: SEED, problems: copy.problems }).toEqual({ seed: SEED, problems: [] });
      expect(copy.resources + copy.owed).toBeGreaterThanOrEqual(new Set(ledger.map((l) => `${l.resourceType}/${l.resourceId}`)).size);
    } finally {
      await store.close();
    }
    // The faults really happened, including answers lost after the server applied the write.
    const injected = proxy.stats().injected;
    expect(injected['reset-after-forward'] + injected['timeout-after-forward']).toBeGreaterThan(0);
    // The first kill interrupted work in flight (the restart found records still to send).
    expect(afterFirstKill.outbox).toBeGreaterThan(0);
    // No PHI in the logs of any of the three runs: no note text, no names, no process-note canary.
    expect(logs.join('\n')).not.toMatch(/PROCESS-NOTE-CANARY|steady progress|Guardian\d|Teacher\d/);
    expect(logs.join('\n')).toContain('record synced');
  } finally {
    if (svc) {
      await killHard(svc);
    }
    await proxy?.close();
    await target?.close();
    tmp.cleanup();
  }
  // 150 s was enough for one profile on a quiet machine; medplum-like took 143 s at a load average of 12-15.
}, 240_000);
