/**
 * With DATABASE_URL (several instances sharing PostgreSQL) no instance keeps a copy of what was sent: each
 * sends only part of the records, so a per-instance copy would be partial and differ between instances.
 * /fhir then answers 501 with an OperationOutcome saying why (said once in the log at start), and
 * $viewdefinition-run still runs over inline resources. Needs a real PostgreSQL (TEST_DATABASE_URL);
 * skipped, loudly, without one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { freshDatabase, POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { records, seedBundle } from '../helpers/fixtures.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC, startExportService, type ExportService } from '../exports/helpers.js';

const LONG = 120_000;

if (!TEST_DATABASE_URL) {
  describe('/fhir with a shared PostgreSQL store', () => {
    process.stderr.write(`test/local-copy/postgres.test.ts: ${POSTGRES_SKIPPED}\n`);
    test.skip(POSTGRES_SKIPPED, () => {});
  });
} else {
  describe('/fhir with a shared PostgreSQL store', () => {
    const tmp = tempDir('local-copy-pg-');
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let target: FhirTarget;
    let svc: ExportService;

    beforeAll(async () => {
      db = await freshDatabase('local_copy');
      target = await startFhirTarget('full', join(tmp.dir, 'ehr'));
      await target.seed((seedBundle.entry ?? []).map((e) => e.resource as Resource));
      svc = await startExportService(join(tmp.dir, 'svc'), {}, { FHIR_BASE_URL: target.url, DATABASE_URL: db.url, SYNC_POLL_INTERVAL_MS: '100' });
    }, LONG);

    afterAll(async () => {
      await svc?.close();
      await target?.close();
      await db?.drop();
      tmp.cleanup();
    }, LONG);

    test('says at start that no copy is kept, and why', () => {
      expect(svc.logs()).toContain('no local copy of what is sent: /fhir answers 501');
      expect(svc.logs()).toContain('shares a PostgreSQL store (DATABASE_URL)');
    });

    test('read, search, metadata, writes, $export and $viewdefinition-export answer 501 naming the reason', async () => {
      const attempts: [string, string, unknown, Record<string, string>][] = [
        ['GET', '/fhir/metadata', undefined, {}],
        ['GET', '/fhir/Encounter', undefined, {}],
        ['GET', '/fhir/Encounter/abc', undefined, {}],
        ['POST', '/fhir/Encounter', { resourceType: 'Encounter' }, {}],
        ['GET', '/fhir/$export', undefined, ASYNC],
        ['POST', '/fhir/$viewdefinition-export', { resourceType: 'Parameters' }, ASYNC],
      ];
      for (const [method, path, body, headers] of attempts) {
        const r = await svc.api(method, path, body, headers);
        expect({ method, path, status: r.status }).toEqual({ method, path, status: 501 });
        expect(r.body.resourceType).toBe('OperationOutcome');
        expect(r.body.issue[0].details.text).toContain(`keeps no local copy of what it sent to ${target.url}`);
      }
    });

    test('$viewdefinition-run still runs over inline resources', async () => {
      const r = await svc.api('POST', '/fhir/$viewdefinition-run', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'viewResource', resource: { resourceType: 'ViewDefinition', status: 'active', resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }] } },
          { name: '_format', valueCode: 'json' },
          { name: 'resource', resource: { resourceType: 'Patient', id: 'p1' } },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ id: 'p1' }]);
    });

    test('records sync to the target, and nothing is copied into DATA_DIR', async () => {
      for (const [collection, rec] of [
        ['participants', records.participant],
        ['consents', records.consent],
        ['sessions', records.session],
      ] as const) {
        expect((await svc.api('PUT', `/api/v1/${collection}/${rec.id}`, rec, { 'content-type': 'application/json' })).status).toBe(201);
      }
      await waitFor(async () => (await svc.api('GET', `/api/v1/sessions/${records.session.id}`)).body.sync?.[0]?.state === 'synced', 60_000, 'the session to sync');
      expect(await target.search('Encounter')).toHaveLength(1);
      expect(existsSync(join(tmp.dir, 'svc', 'fhir-copy'))).toBe(false);
    }, LONG);
  });
}
