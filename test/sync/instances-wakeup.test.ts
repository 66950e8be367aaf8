/**
 * Cross-instance wake-ups (issue #12 item 4): two services on one PostgreSQL, the one that accepts a
 * record does not sync (SYNC_ENABLED=false), the other polls only every ten minutes. A consent naming a
 * participant not received yet is looked at (and held) within seconds; the participant's arrival at the
 * first instance releases it; both reach the FHIR target within seconds: the syncing instance was woken
 * by the other's commits (LISTEN/NOTIFY through OutboxStore.onWorkMaybeDue), not by its poll.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { seedBundle } from '../helpers/fixtures.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { freshDatabase, POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const participant = { id: 'p-wake-1', client: { mrn: 'MRN-1001' }, name: { given: ['Alex'], family: 'Example' }, relationship: 'teacher' };
const consent = {
  id: 'c-wake-1',
  client: { mrn: 'MRN-1001' },
  status: 'active',
  recipients: ['p-wake-1'],
  actions: ['disclose'],
  purposes: ['treatment'],
  dataClasses: ['session-summary'],
  period: { start: '2026-01-01', end: '2099-12-31' },
  signedAt: '2026-01-01T09:00:00Z',
  legalBasis: 'hipaa-authorization',
};

if (!TEST_DATABASE_URL) {
  describe('wake-ups across instances', () => {
    process.stderr.write(`test/sync/instances-wakeup.test.ts: ${POSTGRES_SKIPPED}\n`);
    test.skip(POSTGRES_SKIPPED, () => {});
  });
} else {
  test('records accepted by one instance are sent at once by another that polls every ten minutes, held ones released by the first one\'s arrivals', async () => {
    const tmp = tempDir();
    const db = await freshDatabase('wakeup');
    let target: FhirTarget | undefined;
    let accepting: TestService | undefined;
    let syncing: TestService | undefined;
    try {
      target = await startFhirTarget('full', join(tmp.dir, 'target'));
      await target.seed(seedBundle.entry!.map((e) => e.resource as Resource));
      const shared = { DATABASE_URL: db.url, FHIR_BASE_URL: target.url };
      syncing = await startTestService(join(tmp.dir, 'b'), { ...shared, SYNC_POLL_INTERVAL_MS: '600000' });
      accepting = await startTestService(join(tmp.dir, 'a'), { ...shared, SYNC_ENABLED: 'false' });
      // The syncing worker has looked once, found nothing and sleeps for its poll interval.
      await new Promise((r) => setTimeout(r, 1_500));
      // The consent names a participant not received yet: the syncing instance looks at once and holds it.
      expect((await accepting.api('PUT', `/api/v1/consents/${consent.id}`, consent)).status).toBeLessThan(300);
      const stateOf = async (path: string): Promise<string | undefined> => (await accepting!.api('GET', path)).body?.sync?.[0]?.state;
      await waitFor(async () => (await stateOf(`/api/v1/consents/${consent.id}`)) === 'held', 30_000, 'the other instance to look at the consent');
      // The participant arrives at the accepting instance: its wake-up releases the held consent, and the
      // syncing instance sends both.
      expect((await accepting.api('PUT', `/api/v1/participants/${participant.id}`, participant)).status).toBeLessThan(300);
      for (const path of [`/api/v1/participants/${participant.id}`, `/api/v1/consents/${consent.id}`]) {
        await waitFor(async () => (await stateOf(path)) === 'synced', 30_000, `${path} to be synced by the other instance`).catch(async (err: unknown) => {
          process.stderr.write(`${path}: ${await stateOf(path)}\nlogs of the syncing instance:\n${syncing!.logs().slice(-3000)}\n`);
          throw err;
        });
      }
      const synced = (await accepting.api('GET', `/api/v1/consents/${consent.id}`)).body;
      expect(synced.sync[0].state).toBe('synced');
      expect(await target.search('Consent')).toHaveLength(1);
      expect(await target.search('RelatedPerson')).toHaveLength(1);
      expect(syncing.logs()).toContain('record synced');
      expect(accepting.logs()).not.toContain('record synced');
    } finally {
      await accepting?.close();
      await syncing?.close();
      await target?.close();
      await db.drop().catch(() => {});
      tmp.cleanup();
    }
  }, 120_000);
}
