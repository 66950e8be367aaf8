/**
 * Delivery through the real service (store, worker, API) to real embedded FHIR servers, with the
 * seeded fault proxy in between where the network has to misbehave: unknown outcomes (answers lost
 * after the server applied the write) never duplicate, 412 is re-read and re-applied, 429 waits as long
 * as Retry-After says without counting against the record, dead letters are listed, inspected and
 * replayed by API and CLI (consent checked again), the identity review list, and retry.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createApiClient } from '../../src/cli/api-client.js';
import { syncCommand, type CommandIo } from '../../src/cli/sync-command.js';
import { startFaultProxy, type FaultProxy, type FaultRates } from '../../src/devtools/fault-proxy.js';
import type { ProfileName } from '../../src/fhir-server/target-profiles.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, type Dataset, identifierOf, toNdjson } from './dataset.js';
import { NS } from './helpers.js';
import { verifyDelivery } from './verify.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };

/** A proxy whose faults hit only the next `n` requests that `which` selects (the rest pass, drawing nothing). */
interface Aimed {
  proxy: FaultProxy;
  aim(n: number, rates: FaultRates, which?: (method: string, path: string) => boolean): void;
}

async function aimedProxy(target: string, seed: number): Promise<Aimed> {
  let left = 0;
  let select: (method: string, path: string) => boolean = () => true;
  const proxy = await startFaultProxy({
    target,
    seed,
    rates: {},
    retryAfterSeconds: 1,
    applies: (method, path) => {
      if (left > 0 && select(method, path)) {
        left--;
        return true;
      }
      return false;
    },
  });
  return {
    proxy,
    aim(n, rates, which = () => true) {
      proxy.setRates(rates);
      select = which;
      left = n;
    },
  };
}

const writes = (method: string): boolean => method !== 'GET';

function memoryIo(): CommandIo & { text: () => string } {
  let out = '';
  return {
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      out += `${t}\n`;
    },
    env: {},
    text: () => out,
  };
}

/** Waits until every record of the dataset is where it ends: permitted ones synced (or not-writable), forbidden ones held or blocked. */
async function settle(svc: TestService, target: string, data: Dataset, notWritable: string[] = []): Promise<void> {
  await waitFor(
    async () => {
      for (const r of data.records) {
        const states = await svc.store.status.getSyncStates(r.kind, r.record.id);
        const s = states.find((x) => x.target === target) ?? states.find((x) => x.target === 'local');
        const ok = data.permitted.includes(r)
          ? s?.state === (notWritable.includes(r.kind) ? 'not-writable' : 'synced')
          : s?.state === 'blocked' || (s?.state === 'held' && s.reasonCode === 'no-consent');
        if (!ok) {
          return false;
        }
      }
      return true;
    },
    45_000,
    'the dataset to settle'
  );
}

describe.each<[ProfileName, string[], boolean]>([
  ['full', [], true],
  ['epic-like', ['participant', 'consent', 'session'], false],
  ['oracle-like', ['consent'], true],
])('unknown outcomes on the %s target', (profile, notWritable, provenance) => {
  const tmp = tempDir();
  let target: FhirTarget;
  let aimed: Aimed;
  let svc: TestService;

  beforeAll(async () => {
    target = await startFhirTarget(profile, `${tmp.dir}/target`);
    aimed = await aimedProxy(target.url, 7);
    svc = await startTestService(`${tmp.dir}/svc`, { FHIR_BASE_URL: aimed.proxy.url, FHIR_REQUEST_TIMEOUT_MS: '1000', LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await svc.close();
    await aimed.proxy.close();
    await target.close();
    tmp.cleanup();
  });

  test('writes whose answers were lost after the server applied them are found, never sent twice', async () => {
    const data = buildDataset({ clients: 2, sessionsPerClient: 2, prefix: `u${profile.slice(0, 1)}` });
    await target.seed(data.seed);
    // The first writes reach the server and their answers are lost: connections reset, then hang until timeout.
    aimed.aim(6, { 'reset-after-forward': 0.6, 'timeout-after-forward': 0.4 }, writes);
    const r = await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    expect(r.body.rejected).toBe(0);
    await settle(svc, aimed.proxy.url, data, notWritable);
    const stats = aimed.proxy.stats();
    expect(stats.injected['reset-after-forward'] + stats.injected['timeout-after-forward']).toBe(6);
    const report = await verifyDelivery(target, svc.store, aimed.proxy.url, data, { notWritable: notWritable as any, provenance });
    expect(report.problems).toEqual([]);
    // The lost answers were failed attempts with an unknown outcome, audited as such.
    const failures = await svc.store.audit.listAudit({ category: 'write-attempt' });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((a) => a.event.outcome === '8')).toBe(true);
    expect(svc.logs()).toContain('"reason":"unknown-outcome"');
  });
});

describe('conflicts, throttling, dead letters, review and retry (full target behind the fault proxy)', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let aimed: Aimed;
  let svc: TestService;
  let cli: (args: string[]) => Promise<{ code: number; text: string }>;

  beforeAll(async () => {
    target = await startFhirTarget('full', `${tmp.dir}/target`);
    aimed = await aimedProxy(target.url, 11);
    svc = await startTestService(`${tmp.dir}/svc`, {
      FHIR_BASE_URL: aimed.proxy.url,
      FHIR_REQUEST_TIMEOUT_MS: '2000',
      SYNC_MAX_ATTEMPTS: '2',
      // Sequential writes update known resources by id with If-Match (the transaction path upserts).
      SYNC_WRITE_MODE: 'sequential',
      LOG_LEVEL: 'info',
    });
    const api = createApiClient(svc.url, svc.apiTokens[0]);
    cli = async (args) => {
      const io = memoryIo();
      const code = await syncCommand(args, io, api);
      return { code, text: io.text() };
    };
  });
  afterAll(async () => {
    await svc.close();
    await aimed.proxy.close();
    await target.close();
    tmp.cleanup();
  });

  test('412: a resource changed on the target since our write is re-read and our version re-applied', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 1, prefix: 'k' });
    await target.seed(data.seed);
    await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    await settle(svc, aimed.proxy.url, data);
    const guardian = data.permitted.find((r) => r.kind === 'participant')!;
    const { system, value } = identifierOf(guardian);
    const [rp] = await target.search('RelatedPerson', { identifier: `${system}|${value}` });
    // A clinician edits it in the EHR: version 2 there, our ledger still says 1.
    await fetch(`${target.url}/RelatedPerson/${rp.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...rp, gender: 'unknown' }),
    });
    await svc.api('PUT', `/api/v1/participants/${guardian.record.id}`, { ...guardian.record, name: { given: ['Pat'], family: 'Renamed' } });
    await waitFor(async () => (await svc.store.status.getSyncStates('participant', guardian.record.id))[0].state === 'synced' && (await target.search('RelatedPerson', { identifier: `${system}|${value}` }))[0].meta?.versionId === '3');
    const after = await target.search('RelatedPerson', { identifier: `${system}|${value}` });
    expect(after).toHaveLength(1);
    expect((after[0] as any).name[0].family).toBe('Renamed');
    expect((await svc.store.ledger.getLedgerForRecord(aimed.proxy.url, 'participant', guardian.record.id))[0]).toMatchObject({ resourceId: rp.id, versionId: '3' });
  });

  test('a note received before its session waits for it, then goes alone: one Encounter, each record disclosing its own resources', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 1, prefix: 'o' });
    await target.seed(data.seed);
    const note = data.permitted.find((r) => r.kind === 'note')!;
    await svc.api('POST', '/api/v1/import', toNdjson([note]), NDJSON);
    await waitFor(async () => (await svc.store.status.getSyncStates('note', note.record.id))[0]?.state === 'held');
    await svc.api('POST', '/api/v1/import', toNdjson(data.records.filter((r) => r !== note)), NDJSON);
    await settle(svc, aimed.proxy.url, data);
    const report = await verifyDelivery(target, svc.store, aimed.proxy.url, data, { notWritable: [], provenance: true });
    expect(report.problems).toEqual([]);
    const audits = await svc.store.audit.listAudit({ category: 'disclosure', recordId: note.record.id });
    const written = audits.flatMap((a) => (a.event.entity ?? []).map((e) => e.what?.reference).filter(Boolean));
    expect(written).toEqual([expect.stringMatching(/^DocumentReference\//)]);
  });

  test('429 with Retry-After: the next attempt is scheduled no earlier, the target is paused, and throttling never parks a record', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 1, prefix: 't' });
    await target.seed(data.seed);
    aimed.aim(3, { throttle: 1 });
    await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    const throttled = await waitFor(async () => {
      for (const r of data.records) {
        const s = (await svc.store.status.getSyncStates(r.kind, r.record.id)).find((x) => x.reasonCode === 'upstream-429');
        if (s) {
          return s;
        }
      }
      return undefined;
    });
    expect(throttled.reason).toMatch(/Retry-After 1 s/);
    expect(Date.parse(throttled.nextAttemptAt!) - Date.parse(throttled.updatedAt)).toBeGreaterThanOrEqual(900);
    await settle(svc, aimed.proxy.url, data);
    expect(aimed.proxy.stats().injected.throttle).toBe(3);
    // Three 429s with SYNC_MAX_ATTEMPTS=2 and nothing parked: throttling does not count.
    const report = await verifyDelivery(target, svc.store, aimed.proxy.url, data, { notWritable: [], provenance: true });
    expect(report.problems).toEqual([]);
  });

  test('a target that keeps failing parks records as dead letters; their dependents wait; listed, inspected and replayed (consent checked again)', async () => {
    const data = buildDataset({ clients: 2, sessionsPerClient: 1, prefix: 'd' });
    await target.seed(data.seed);
    aimed.aim(10_000, { 'unavailable-no-retry-after': 1 });
    await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    const participants = data.permitted.filter((r) => r.kind === 'participant');
    const dependents = data.permitted.filter((r) => r.kind !== 'participant');
    // The participants fail twice (SYNC_MAX_ATTEMPTS=2) and are parked; what needs them waits instead of failing too.
    await waitFor(
      async () => {
        for (const r of participants) {
          if ((await svc.store.status.getSyncStates(r.kind, r.record.id))[0]?.state !== 'dead-letter') return false;
        }
        for (const r of dependents) {
          const s = (await svc.store.status.getSyncStates(r.kind, r.record.id))[0];
          if (s?.state !== 'held' || s.reasonCode !== 'waiting-for-dependency') return false;
        }
        return true;
      },
      30_000,
      'participants parked, dependents waiting'
    );
    const list = await svc.api('GET', `/api/v1/sync/dead-letters?target=${encodeURIComponent(aimed.proxy.url)}&kind=participant`);
    expect(list.body.count).toBe(participants.length);
    expect(list.body.deadLetters[0]).toMatchObject({ target: aimed.proxy.url, reasonCode: 'retries-exhausted', failures: 2, recordVersion: 1 });
    expect(list.body.deadLetters[0].outcome).toBeUndefined(); // the list is short; inspect one for its OperationOutcome
    const one = list.body.deadLetters[0];
    const inspected = await svc.api('GET', `/api/v1/sync/dead-letters/${one.kind}/${one.recordId}`);
    expect(inspected.status).toBe(200);
    expect(inspected.body.deadLetters[0].outcome.issue.map((i: any) => i.details?.text)).toContain('Service unavailable (injected)');
    expect((await svc.api('GET', '/api/v1/sync/dead-letters/note/nope')).status).toBe(404);
    const status = await svc.api('GET', '/api/v1/sync/status');
    expect(status.body.delivery[aimed.proxy.url]).toMatchObject({ deadLetters: participants.length, heldBy: expect.objectContaining({ 'waiting-for-dependency': dependents.length }) });
    const listed = await cli(['dead-letters', '--target', aimed.proxy.url]);
    expect(listed.code).toBe(0);
    expect(listed.text).toContain(`${one.kind}/${one.recordId}`);
    expect((await cli(['dead-letters', `${one.kind}/${one.recordId}`])).text).toContain('Service unavailable (injected)');
    expect((await cli(['status'])).text).toMatch(new RegExp(`dead letters ${participants.length}`));
    expect((await cli(['replay'])).code).toBe(2); // nothing named: refuses to replay everything by accident

    // The target recovers; meanwhile client 1 revoked its consent. Replay one by one, then the rest by filter.
    aimed.aim(0, {});
    const revoked = data.records.find((r) => r.kind === 'consent' && r.record.id === 'c-d1')!;
    await svc.api('PUT', '/api/v1/consents/c-d1', { ...revoked.record, status: 'revoked', revocation: { at: new Date().toISOString() } });
    const oneByOne = await cli(['replay', 'participant/p-d0-guardian']);
    expect(oneByOne).toMatchObject({ code: 0, text: expect.stringContaining('Queued again: 1') });
    const byFilter = await cli(['replay', '--kind', 'participant', '--target', aimed.proxy.url]);
    expect(byFilter).toMatchObject({ code: 0, text: expect.stringContaining(`Queued again: ${participants.length - 1}`) });
    // Client 0 goes through, dependents included, once its participants are on the target.
    for (const r of data.permitted.filter((x) => x.record.id.includes('-d0'))) {
      await waitFor(async () => (await svc.store.status.getSyncStates(r.kind, r.record.id))[0].state === 'synced', 20_000, `${r.kind}/${r.record.id} synced`);
    }
    // Client 1's replayed participants met the revocation at the gate: they wait for a consent, not on the target.
    for (const id of ['p-d1-guardian', 'p-d1-teacher']) {
      const s = await waitFor(async () => {
        const st = (await svc.store.status.getSyncStates('participant', id))[0];
        return st.state === 'held' && st.reasonCode === 'no-consent' ? st : undefined;
      });
      expect(s.reason).toMatch(/no consent in force/);
      const { system, value } = identifierOf(data.records.find((r) => r.record.id === id)!);
      expect(await target.countByIdentifier('RelatedPerson', system, value)).toBe(0);
    }
    expect(await svc.store.status.listDeadLetters({ target: aimed.proxy.url })).toEqual([]);
    // Revoked before it ever reached the EHR: the consent record itself stays local too.
    expect(await svc.store.status.getSyncStates('consent', 'c-d1')).toEqual([expect.objectContaining({ state: 'blocked', reason: expect.stringMatching(/revoked before it was ever sent/) })]);
    expect(await target.countByIdentifier('Consent', `${NS}/sid/roi`, 'c-d1')).toBe(0);
  });

  test('identity on the target: a missing or ambiguous Patient and a missing Practitioner go to the review list; retry after the fix', async () => {
    const data = buildDataset({ clients: 2, sessionsPerClient: 1, prefix: 'r' });
    // Client 0 has no Patient on the target, client 1 has two with the same MRN.
    await target.seed(data.seed.filter((r) => r.resourceType !== 'Patient'));
    const twin = data.seed.find((r) => (r as any).identifier?.[0]?.value === 'MRN-r1') as Resource;
    for (let i = 0; i < 2; i++) {
      await fetch(`${target.url}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(twin) });
    }
    await svc.api('POST', '/api/v1/import', toNdjson(data.records), NDJSON);
    const review = await waitFor(async () => {
      const r = await svc.api('GET', '/api/v1/sync/review');
      const mine = r.body.review.filter((s: any) => /-r[01]/.test(s.recordId));
      return mine.some((s: any) => s.reasonCode === 'patient-not-found') && mine.some((s: any) => s.reasonCode === 'patient-ambiguous') ? mine : undefined;
    });
    expect(review.find((s: any) => s.reasonCode === 'patient-not-found')).toMatchObject({ clientMrn: 'MRN-r0' });
    expect(review.find((s: any) => s.reasonCode === 'patient-ambiguous')).toMatchObject({ clientMrn: 'MRN-r1' });
    const text = (await cli(['review', '--reason', 'patient-not-found'])).text;
    expect(text).toContain('MRN-r0');
    expect(text).not.toContain('MRN-r1');

    // Registration fixes client 0; client 1's duplicate stays for the hospital to merge.
    await target.seed(data.seed.filter((r) => (r as any).identifier?.[0]?.value === 'MRN-r0'));
    const retried = await cli(['retry', '--reason', 'patient-not-found']);
    expect(retried.code).toBe(0);
    for (const r of data.permitted.filter((x) => x.record.id.includes('-r0'))) {
      await waitFor(async () => (await svc.store.status.getSyncStates(r.kind, r.record.id))[0].state === 'synced', 20_000, `${r.kind}/${r.record.id}`);
    }
    const stillHeld = (await svc.store.status.getSyncStates('participant', 'p-r1-guardian'))[0];
    expect(stillHeld).toMatchObject({ state: 'held', reasonCode: 'patient-ambiguous' });
  });

  test('a session whose therapist is not on the target waits as practitioner-not-found', async () => {
    const data = buildDataset({ clients: 1, sessionsPerClient: 1, prefix: 'q' });
    await target.seed(data.seed);
    const session = data.records.find((r) => r.kind === 'session')!;
    const unknownNpi = { ...session, record: { ...session.record, therapist: { npi: '1245319599' } } };
    await svc.api('POST', '/api/v1/import', toNdjson(data.records.map((r) => (r === session ? unknownNpi : r))), NDJSON);
    const held = await waitFor(async () => {
      const s = (await svc.store.status.getSyncStates('session', session.record.id))[0];
      return s.state === 'held' && s.reasonCode === 'practitioner-not-found' ? s : undefined;
    });
    expect(held.reason).toMatch(/no Practitioner with identifier 1245319599/);
    const review = await svc.api('GET', '/api/v1/sync/review?reason=practitioner-not-found');
    expect(review.body.review.map((s: any) => s.recordId)).toContain(session.record.id);
  });
});
