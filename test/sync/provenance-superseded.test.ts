/**
 * A Provenance whose create had an unknown outcome (the target applied it, the answer was lost), and a
 * new version of the record before the next attempt: the next attempt writes the new version and must
 * still settle the Provenance of the version it superseded, so the ledger knows every Provenance the
 * target holds (seen as "1043 Provenances on the target, 1042 in the ledger" in the three-instance e2e
 * test). Where the lost create never reached the target, that version gets its Provenance now: every
 * version the target confirmed is attested (docs/sync.md section 7).
 */
import { startFaultProxy, type FaultProxy, type FaultRates } from '../../src/devtools/fault-proxy.js';
import type { ProfileName } from '../../src/fhir-server/target-profiles.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, type Dataset, identifierOf, toNdjson } from './dataset.js';
import { verifyDelivery } from './verify.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };

/** A proxy that passes everything until aimed: then the `nth` write request from now gets `rates`' fault. */
async function nthWriteProxy(target: string): Promise<{ proxy: FaultProxy; aim(nth: number, rates: FaultRates): void }> {
  let countdown = 0;
  const proxy = await startFaultProxy({
    target,
    seed: 5,
    rates: {},
    applies: (method) => {
      if (countdown === 0 || method === 'GET') {
        return false;
      }
      countdown--;
      return countdown === 0;
    },
  });
  return {
    proxy,
    aim(nth, rates) {
      proxy.setRates(rates);
      countdown = nth;
    },
  };
}

async function synced(svc: TestService, target: string, data: Dataset): Promise<void> {
  await waitFor(
    async () => {
      for (const r of data.permitted) {
        const s = (await svc.store.status.getSyncStates(r.kind, r.record.id)).find((x) => x.target === target);
        if (s?.state !== 'synced' && s?.state !== 'not-writable') {
          return false;
        }
      }
      return true;
    },
    45_000,
    'the dataset to settle'
  );
}

describe.each<[ProfileName, number, string[]]>([
  // full: the transaction (1st write), then the Provenance batch (2nd write).
  ['full', 2, []],
])('a lost Provenance create, then a new version of the record (%s target)', (profile, nth, notWritable) => {
  const tmp = tempDir();
  let target: FhirTarget;
  let aimed: Awaited<ReturnType<typeof nthWriteProxy>>;
  let svc: TestService;

  beforeAll(async () => {
    target = await startFhirTarget(profile, `${tmp.dir}/target`);
    aimed = await nthWriteProxy(target.url);
    svc = await startTestService(`${tmp.dir}/svc`, {
      FHIR_BASE_URL: aimed.proxy.url,
      FHIR_REQUEST_TIMEOUT_MS: '1500',
      SYNC_MIN_BACKOFF_MS: '20',
      SYNC_MAX_BACKOFF_MS: '200',
      LOG_LEVEL: 'info',
    });
  });
  afterAll(async () => {
    await svc.close();
    await aimed.proxy.close();
    await target.close();
    tmp.cleanup();
  });

  test.each(['timeout-after-forward', 'reset-after-forward'] as const)('%s: the superseded version keeps exactly one Provenance, and the ledger knows it', async (fault) => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 0, prefix: `ps${fault.slice(0, 1)}` });
    await target.seed(data.seed);
    await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    await synced(svc, aimed.proxy.url, data);
    const guardian = data.permitted.find((r) => r.kind === 'participant' && r.record.id.endsWith('-guardian'))!;
    const name = guardian.record.name as { given: string[]; family: string };

    // Version 2: its resource is written, its Provenance create reaches the target and the answer is lost.
    const before = aimed.proxy.stats().injected[fault];
    aimed.aim(nth, { [fault]: 1 });
    const v2 = await svc.api('PUT', `/api/v1/participants/${guardian.record.id}`, { ...guardian.record, name: { ...name, family: `${name.family}-v2` } });
    expect(v2.status).toBeLessThan(300);
    await waitFor(async () => aimed.proxy.stats().injected[fault] > before, 20_000, 'the lost Provenance create');
    // Version 3 arrives before the next attempt.
    const v3 = await svc.api('PUT', `/api/v1/participants/${guardian.record.id}`, { ...guardian.record, name: { ...name, family: `${name.family}-v3` } });
    expect(v3.status).toBeLessThan(300);
    await waitFor(async () => {
      const { system, value } = identifierOf(guardian);
      const [rp] = await target.search('RelatedPerson', { identifier: `${system}|${value}` });
      const state = (await svc.store.status.getSyncStates('participant', guardian.record.id)).find((s) => s.target === aimed.proxy.url);
      return state?.state === 'synced' && (rp as { name?: { family?: string }[] })?.name?.[0]?.family?.endsWith('-v3');
    }, 30_000, 'version 3 on the target');
    await synced(svc, aimed.proxy.url, data);

    const report = await verifyDelivery(target, svc.store, aimed.proxy.url, data, { notWritable: notWritable as any, provenance: true });
    expect(report.problems).toEqual([]);
    // Versions 1, 2 and 3 of the guardian's RelatedPerson each have exactly one Provenance.
    const { system, value } = identifierOf(guardian);
    const [rp] = await target.search('RelatedPerson', { identifier: `${system}|${value}` });
    const attested = (await target.search('Provenance'))
      .flatMap((p) => ((p as { target?: { reference?: string }[] }).target ?? []).map((t) => t.reference ?? ''))
      .filter((r) => r.startsWith(`RelatedPerson/${rp.id}/`))
      .sort();
    expect(attested).toEqual([1, 2, 3].map((v) => `RelatedPerson/${rp.id}/_history/${v}`));
  }, 60_000);
});
