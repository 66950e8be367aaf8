/**
 * Role checks and the access audit on /fhir over the copy are those of the embedded /fhir, with real named
 * credentials (API_KEYS_FILE): reads need fhir-reader and are in the access audit; views need an
 * analytics role, de-identified for an analyst, identified only for a privacy officer and then in the
 * access audit; a write is refused by role before it reaches the copy's 405.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { records, seedBundle } from '../helpers/fixtures.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { putExampleSession, startSecuredService, type SecuredService } from '../security/helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const run = (identified: boolean) =>
  JSON.stringify({
    resourceType: 'Parameters',
    parameter: [
      { name: 'viewReference', valueReference: { reference: 'ViewDefinition/collateral_sessions' } },
      { name: '_format', valueCode: 'json' },
      ...(identified ? [{ name: 'deidentify', valueBoolean: false }] : []),
    ],
  });

const tmp = tempDir('local-copy-roles-');
let ehr: FhirTarget;
let s: SecuredService;
let encounterId: string;

beforeAll(async () => {
  ehr = await startFhirTarget('full', join(tmp.dir, 'ehr'));
  await ehr.seed((seedBundle.entry ?? []).map((e) => e.resource as Resource));
  s = await startSecuredService({ FHIR_BASE_URL: ehr.url, SYNC_ENABLED: 'true', SYNC_POLL_INTERVAL_MS: '100', ACCESS_AUDIT_FLUSH_MS: '50' });
  await putExampleSession(s);
  await waitFor(async () => (await s.call('source', 'GET', `/api/v1/sessions/${records.session.id}`)).body?.sync?.[0]?.state === 'synced', 30_000, 'the session to sync');
  encounterId = (await ehr.search('Encounter'))[0].id as string;
}, 120_000);

afterAll(async () => {
  await s?.close();
  await ehr?.close();
  tmp.cleanup();
});

const accessEntries = async (): Promise<any[]> => {
  const r = await s.call('privacy-officer', 'GET', '/api/v1/audit/access?_count=1000');
  expect(r.status).toBe(200);
  return r.body.entries as any[];
};

test('reads need fhir-reader (403 otherwise, as on the embedded /fhir), and each read is in the access audit', async () => {
  for (const role of ['analyst', 'source', 'operator'] as const) {
    expect([role, (await s.call(role, 'GET', `/fhir/Encounter/${encounterId}`)).status]).toEqual([role, 403]);
  }
  const read = await s.call('fhir-reader', 'GET', `/fhir/Encounter/${encounterId}`);
  expect(read.status).toBe(200);
  expect(read.body.id).toBe(encounterId);
  let entries: any[] = [];
  await waitFor(async () => (entries = (await accessEntries()).filter((e) => e.who === 'fhir-reader-key')).length > 0, 5000, 'the read in the access audit');
  expect(entries[0]).toMatchObject({ status: 200 });
  expect(JSON.stringify(entries[0])).toContain(`Encounter/${encounterId}`);
});

test('a write is refused by role first (403), and by the copy for a role that may write (405)', async () => {
  const body = JSON.stringify({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } });
  expect((await s.call('fhir-reader', 'POST', '/fhir/Encounter', body, FHIR)).status).toBe(403);
  const admin = await s.call('admin', 'POST', '/fhir/Encounter', body, FHIR);
  expect(admin.status).toBe(405);
  expect(admin.body.issue[0].details.text).toContain(`read-only copy of what was sent to ${ehr.url}`);
});

test('views over the copy: analyst de-identified only; privacy officer identified, in the access audit', async () => {
  const deid = await s.call('analyst', 'POST', '/fhir/$viewdefinition-run', run(false), FHIR);
  expect(deid.status).toBe(200);
  expect(deid.body).toHaveLength(1);
  expect(deid.text).not.toContain(encounterId);
  expect((await s.call('analyst', 'POST', '/fhir/$viewdefinition-run', run(true), FHIR)).status).toBe(403);
  expect((await s.call('fhir-reader', 'POST', '/fhir/$viewdefinition-run', run(false), FHIR)).status).toBe(403);
  const identified = await s.call('privacy-officer', 'POST', '/fhir/$viewdefinition-run', run(true), FHIR);
  expect(identified.status).toBe(200);
  expect(identified.text).toContain(encounterId);
  await waitFor(
    async () => (await accessEntries()).some((e) => String(e.route).startsWith('identified $viewdefinition-run') && e.who === 'privacy-officer-key'),
    5000,
    'the identified run in the access audit'
  );
});
