/**
 * The sync against the `medplum-like` target profile over HTTP (issue #9), through the real service:
 * - item 1: each transaction/batch response entry is classified by its own status (a 403 entry parks the
 *   record at once with what the write needed; a 429 entry pauses and retries without counting);
 * - item 2: a declared transaction that turns out not atomic is detected; no orphan Provenance is ever
 *   written or recorded; the target is written in order (batch) from then on;
 * - item 3: atomic transactions refused as too large (Medplum's 8-entry limit) are sent again smaller;
 * - item 6: an older version re-sent after a restart from an empty store gets a Provenance of its own;
 * - item 5: one outside clinician (one NPI) is one Practitioner shared by every client that names it.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { MedplumLikeOptions } from '../../src/fhir-server/medplum-options.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, type Dataset, identifierOf, THERAPIST_NPI, toNdjson } from './dataset.js';
import { MRN_SYSTEM, NPI_SYSTEM, NS } from './helpers.js';
import { verifyDelivery } from './verify.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };

/** A medplum-like target and the service syncing to it, fresh per scenario (what is learned is per process). */
async function stack(dir: string, medplum: MedplumLikeOptions, env: Record<string, string> = {}): Promise<{ target: FhirTarget; svc: TestService; close(): Promise<void> }> {
  const target = await startFhirTarget('medplum-like', `${dir}/target`, { medplum });
  const svc = await startTestService(`${dir}/svc`, { FHIR_BASE_URL: target.url, SYNC_MIN_BACKOFF_MS: '50', SYNC_MAX_BACKOFF_MS: '500', ...env });
  return {
    target,
    svc,
    async close() {
      await svc.close();
      await target.close();
    },
  };
}

/** Waits until no permitted record is pending or failing: each synced, or in one of `allowed` states. */
async function settled(svc: TestService, data: Dataset, allowed: Record<string, string> = {}, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      for (const r of data.permitted) {
        const s = (await svc.store.status.getSyncStates(r.kind, r.record.id)).find((x) => x.target !== 'local');
        if (s?.state !== (allowed[r.record.id] ?? 'synced')) {
          return false;
        }
      }
      return true;
    },
    timeoutMs,
    'the dataset to settle'
  );
}

/** Provenances (admin side) whose target is not a resource on the target: orphans. */
async function orphans(target: FhirTarget): Promise<string[]> {
  const out: string[] = [];
  for (const p of await target.search('Provenance')) {
    for (const t of (p as { target?: { reference?: string }[] }).target ?? []) {
      const [type, id] = (t.reference ?? '').split('/');
      if ((await target.search(type, { _id: id })).length !== 1) {
        out.push(`Provenance/${p.id} -> ${t.reference}`);
      }
    }
  }
  return out;
}

describe('medplum-like: a declared transaction that is not atomic, and a 403 entry inside a 200', () => {
  const tmp = tempDir();
  let s: Awaited<ReturnType<typeof stack>>;
  beforeAll(async () => {
    s = await stack(tmp.dir, { atomicTransactions: false });
  });
  afterAll(async () => {
    await s.close();
    tmp.cleanup();
  });

  test('the refused Encounter parks its session at once (upstream-403, naming the permission); no orphan Provenance; batch from then on; replay completes it', async () => {
    const { target, svc } = s;
    const data = buildDataset({ clients: 3, sessionsPerClient: 1, prefix: 'ma' });
    await target.seed(data.seed);
    // The first Encounter write is refused with 403 inside the 200 (a token without Encounter write, once).
    target.medplum!.fail({ resourceType: 'Encounter', status: 403, times: 1 });
    expect((await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON)).body.rejected).toBe(0);

    const dead = await waitFor(async () => {
      const list = (await svc.api('GET', '/api/v1/sync/dead-letters')).body.deadLetters as any[];
      return list.length > 0 ? list : undefined;
    }, 60_000, 'a dead letter');
    expect(dead).toEqual([expect.objectContaining({ kind: 'session', reasonCode: 'upstream-403', failures: expect.any(Number) })]);
    const session = dead[0].recordId as string;
    const inspected = (await svc.api('GET', `/api/v1/sync/dead-letters/session/${session}`)).body.deadLetters[0];
    // Parked on the first refusal, with what the write needed and the target's own OperationOutcome.
    expect(inspected.reason).toMatch(/refused to search, create and update Encounter.*system\/Encounter\.cus.*system\/Encounter\.write/);
    expect(JSON.stringify(inspected.outcome)).toContain('forbidden');
    expect(target.medplum!.stats().refused['403']).toBe(1);
    expect(svc.logs()).not.toContain('has no resource id or version');
    // The target answered an error inside a 200: the sync says so and writes in order from then on.
    expect(svc.logs()).toMatch(/not atomic; writing in order/);

    const stillWaiting = Object.fromEntries([[session, 'dead-letter'], [`n-${session.slice(2)}`, 'held']]);
    await settled(svc, data, stillWaiting);
    expect(svc.logs()).toMatch(/"mode":"batch"/);
    expect(await orphans(target)).toEqual([]);

    // The operator grants the permission (here: the injected refusal is spent) and replays.
    expect((await svc.api('POST', `/api/v1/sync/dead-letters/session/${session}/replay`)).status).toBe(200);
    await settled(svc, data);
    const report = await verifyDelivery(target, svc.store, target.url, data, { notWritable: [], provenance: true });
    expect(report.problems).toEqual([]);
    expect(await orphans(target)).toEqual([]);
  }, 150_000);
});

describe('medplum-like: the request quota answers 429 per entry', () => {
  const tmp = tempDir();
  let s: Awaited<ReturnType<typeof stack>>;
  beforeAll(async () => {
    // Two failures would park a record: a 429 must never count as one.
    s = await stack(tmp.dir, { quota: { points: 900, windowSeconds: 2 } }, { SYNC_MAX_ATTEMPTS: '2' });
  });
  afterAll(async () => {
    await s.close();
    tmp.cleanup();
  });

  test('a throttled entry pauses the target and is retried without counting; everything lands exactly once', async () => {
    const { target, svc } = s;
    const data = buildDataset({ clients: 2, sessionsPerClient: 2, prefix: 'mq' });
    await target.seed(data.seed);
    expect((await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON)).body.rejected).toBe(0);
    await settled(svc, data, {}, 120_000);
    expect(target.medplum!.stats().refused['429']).toBeGreaterThan(0);
    expect(svc.logs()).toContain('"reason":"upstream-429"');
    expect((await svc.api('GET', '/api/v1/sync/dead-letters')).body.deadLetters).toEqual([]);
    const report = await verifyDelivery(target, svc.store, target.url, data, { notWritable: [], provenance: true });
    expect(report.problems).toEqual([]);
    expect(await orphans(target)).toEqual([]);
  }, 150_000);
});

describe('medplum-like with atomic transactions: the conditional-entries limit', () => {
  const tmp = tempDir();
  let s: Awaited<ReturnType<typeof stack>>;
  beforeAll(async () => {
    s = await stack(tmp.dir, { atomicTransactions: true });
  });
  afterAll(async () => {
    await s.close();
    tmp.cleanup();
  });

  test('a transaction refused as too large is sent again in smaller ones; nothing is parked; transactions go on', async () => {
    const { target, svc } = s;
    // One record per client goes into a Bundle at a time: 12 clients make Bundles of more than 8 conditional entries.
    const data = buildDataset({ clients: 12, sessionsPerClient: 1, prefix: 'mt' });
    await target.seed(data.seed);
    expect((await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON)).body.rejected).toBe(0);
    await settled(svc, data, {}, 120_000);
    expect(target.medplum!.stats().refused['400'] ?? 0).toBe(0); // a whole-transaction refusal is not an operation's
    const learned = svc.logs().split('\n').find((l) => l.includes('refused a transaction as too large'));
    expect(JSON.parse(learned ?? '{}')).toMatchObject({ level: 'warn', maxEntries: expect.any(Number), sent: expect.any(Number) });
    expect(JSON.parse(learned!).maxEntries).toBeLessThanOrEqual(8);
    expect(svc.logs()).not.toMatch(/not atomic/);
    expect(svc.logs()).toMatch(/"mode":"transaction"/);
    expect((await svc.api('GET', '/api/v1/sync/dead-letters')).body.deadLetters).toEqual([]);
    const report = await verifyDelivery(target, svc.store, target.url, data, { notWritable: [], provenance: true });
    expect(report.problems).toEqual([]);
  }, 150_000);
});

describe('medplum-like: an older version re-sent after a restart from an empty store', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', `${tmp.dir}/target`);
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('reverts the resource and writes a Provenance of its own for the new version', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 0, prefix: 'mr' });
    await target.seed(data.seed);
    const guardian = data.permitted.find((r) => r.kind === 'participant' && r.record.id.endsWith('guardian'))!;
    const { system, value } = identifierOf(guardian);
    const first = await startTestService(`${tmp.dir}/svc-1`, { FHIR_BASE_URL: target.url });
    try {
      await first.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
      await settled(first, data);
      await first.api('PUT', `/api/v1/participants/${guardian.record.id}`, { ...guardian.record, name: { given: ['Pat'], family: 'Renamed' } });
      await waitFor(async () => (await target.search('RelatedPerson', { identifier: `${system}|${value}` }))[0]?.meta?.versionId === '2', 30_000, 'version 2');
      await waitFor(async () => (await first.store.status.getSyncStates('participant', guardian.record.id))[0]?.state === 'synced');
    } finally {
      await first.close();
    }
    // A new store (a restore from an empty data directory); the practice sends what it has: the old version.
    const second = await startTestService(`${tmp.dir}/svc-2`, { FHIR_BASE_URL: target.url });
    try {
      await second.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
      await settled(second, data);
      const [rp] = await target.search('RelatedPerson', { identifier: `${system}|${value}` });
      expect(rp.meta?.versionId).toBe('3');
      expect((rp as any).name[0].family).toBe((guardian.record as any).name.family);
      // One Provenance per version of the guardian's RelatedPerson, the new one included, none twice.
      const targets = (await target.search('Provenance')).flatMap((p) => ((p as any).target as { reference: string }[]).map((t) => t.reference));
      for (const v of ['1', '2', '3']) {
        expect({ v, n: targets.filter((t) => t === `RelatedPerson/${rp.id}/_history/${v}`).length }).toEqual({ v, n: 1 });
      }
      // The new store's ledger names the new Provenance, not the old version's.
      const provs = (await second.store.ledger.listLedger(target.url)).filter((l) => l.resourceType === 'Provenance' && l.recordId === guardian.record.id);
      expect(provs).toHaveLength(1);
      const [p] = await target.search('Provenance', { _id: provs[0].resourceId });
      expect((p as any).target[0].reference).toBe(`RelatedPerson/${rp.id}/_history/3`);
    } finally {
      await second.close();
    }
  }, 150_000);
});

describe('medplum-like: one outside clinician seen by several clients (issue #9 item 5)', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let svc: TestService;
  beforeAll(async () => {
    target = await startFhirTarget('medplum-like', `${tmp.dir}/target`);
    svc = await startTestService(`${tmp.dir}/svc`, { FHIR_BASE_URL: target.url });
  });
  afterAll(async () => {
    await svc.close();
    await target.close();
    tmp.cleanup();
  });

  test('the same NPI named by three clients is one Practitioner, keyed by the NPI alone; their consents and sessions all reference it; the EHR\'s own is reused', async () => {
    const npi = '1222222220';
    const clients = [0, 1, 2];
    const pid = (c: number): string => `p-mc${c}-psychiatrist`;
    const records = clients.flatMap((c) => {
      const mrn = `MRN-mc${c}`;
      return [
        // Per-client contact data differs: it must not fork the Practitioner.
        { kind: 'participant', record: { id: pid(c), client: { mrn }, name: { given: ['Dana'], family: 'Shared' }, relationship: 'psychiatrist', npi, telecom: [{ system: 'phone', value: `+1-555-010${c}` }] } },
        {
          kind: 'consent',
          record: {
            id: `c-mc${c}`,
            client: { mrn },
            status: 'active',
            recipients: [pid(c)],
            actions: ['disclose', 'collect'],
            purposes: ['treatment', 'care-coordination'],
            dataClasses: ['attendance'],
            period: { start: '2020-01-01', end: '2099-01-01' },
            signedAt: '2020-01-01T15:00:00Z',
            legalBasis: 'hipaa-authorization',
            revocation: null,
          },
        },
        {
          kind: 'session',
          record: {
            id: `s-mc${c}`,
            client: { mrn },
            therapist: { npi: THERAPIST_NPI },
            type: 'collateral',
            clientPresent: false,
            participants: [{ participantId: pid(c) }],
            modality: 'video',
            status: 'completed',
            start: '2026-01-10T16:00:00-05:00',
            end: '2026-01-10T16:50:00-05:00',
            purposes: ['information-gathering'],
            consentIds: [`c-mc${c}`],
            exception: null,
          },
        },
      ];
    });
    await target.seed([
      { resourceType: 'Practitioner', identifier: [{ system: NPI_SYSTEM, value: THERAPIST_NPI }] } as Resource,
      ...clients.map((c) => ({ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: `MRN-mc${c}` }] }) as Resource),
    ]);
    const imported = await svc.api('POST', '/api/v1/import', toNdjson(records as any), NDJSON);
    expect({ rejected: imported.body.rejected, results: imported.body.results }).toMatchObject({ rejected: 0 });
    await waitFor(async () => {
      for (const r of records) {
        if ((await svc.store.status.getSyncStates(r.kind as any, r.record.id))[0]?.state !== 'synced') return false;
      }
      return true;
    }, 60_000, 'every record synced');

    const practitioners = await target.search('Practitioner', { identifier: `${NPI_SYSTEM}|${npi}` });
    expect(practitioners).toHaveLength(1);
    const shared = practitioners[0] as any;
    // Keyed by the NPI alone: no per-client identifier (which would tie one client's MRN to a shared resource).
    expect(shared.identifier).toEqual([{ system: NPI_SYSTEM, value: npi }]);
    expect(await target.search('Practitioner', { identifier: `${NS}/sid/collateral-contact|${pid(1)}:MRN-mc1` })).toEqual([]);
    for (const c of clients) {
      const [consent] = await target.search('Consent', { identifier: `${NS}/sid/roi|c-mc${c}` });
      expect(JSON.stringify((consent as any).provision)).toContain(`"Practitioner/${shared.id}"`);
      const [enc] = await target.search('Encounter', { identifier: `${NS}/sid/session|s-mc${c}` });
      expect((enc as any).participant.map((p: any) => p.individual.reference)).toContain(`Practitioner/${shared.id}`);
    }
    // The ledger knows it once, by the NPI.
    const rows = (await svc.store.ledger.listLedger(target.url)).filter((l) => l.resourceType === 'Practitioner');
    expect(rows.map((l) => l.identifier)).toEqual([`${NPI_SYSTEM}|${npi}`]);

    // A clinician the EHR already holds (registered by NPI) is reused, never duplicated or overwritten.
    const ehrNpi = '1497758544';
    const [registered] = await target.seed([{ resourceType: 'Practitioner', identifier: [{ system: NPI_SYSTEM, value: ehrNpi }], name: [{ family: 'Registered' }] } as Resource]);
    const newcomer = { kind: 'participant', record: { id: 'p-mc0-pcp', client: { mrn: 'MRN-mc0' }, name: { family: 'Other' }, relationship: 'primary-care-physician', npi: ehrNpi } };
    await svc.api('PUT', '/api/v1/consents/c-mc0', { ...records[1].record, recipients: [pid(0), 'p-mc0-pcp'] });
    await svc.api('POST', '/api/v1/import', toNdjson([newcomer] as any), NDJSON);
    await waitFor(async () => (await svc.store.status.getSyncStates('participant', 'p-mc0-pcp'))[0]?.state === 'synced', 60_000, 'the newcomer synced');
    const byEhrNpi = await target.search('Practitioner', { identifier: `${NPI_SYSTEM}|${ehrNpi}` });
    expect(byEhrNpi.map((p) => [p.id, (p as any).name[0].family])).toEqual([[registered.id, 'Registered']]);
  }, 150_000);
});
