/**
 * Roles and the access audit with real named credentials (API_KEYS_FILE, issue #10): an analyst's view
 * runs and exports are de-identified and an analyst asking for identified output gets 403; a privacy
 * officer's identified run, export and download are each recorded in the access audit (an entry whose
 * route says `identified ...`), which the de-identified ones are not; roles without analytics get 403.
 */
import { waitFor } from '../helpers/service.js';
import { startSecuredService, type SecuredService } from '../security/helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const view = {
  resourceType: 'ViewDefinition',
  status: 'active',
  resource: 'Encounter',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()' }, { name: 'client', path: 'subject.getReferenceKey(Patient)' }] }],
};
const run = (identified: boolean) => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'viewResource', resource: view }, { name: '_format', valueCode: 'json' }, ...(identified ? [{ name: 'deidentify', valueBoolean: false }] : [])],
});

describe('identified output and the access audit, with named credentials', () => {
  let s: SecuredService;
  let patient: string;

  const identifiedEntries = async (): Promise<any[]> => {
    const r = await s.call('privacy-officer', 'GET', '/api/v1/audit/access?_count=1000');
    expect(r.status).toBe(200);
    return (r.body.entries as any[]).filter((e) => String(e.route).startsWith('identified '));
  };

  beforeAll(async () => {
    s = await startSecuredService({ ACCESS_AUDIT_FLUSH_MS: '50' });
    const created = await s.call('admin', 'POST', '/fhir/Patient', JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Quillfeather' }] }), FHIR);
    expect(created.status).toBe(201);
    patient = created.body.id;
    const enc = await s.call('admin', 'POST', '/fhir/Encounter', JSON.stringify({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${patient}` } }), FHIR);
    expect(enc.status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  test('analyst: de-identified runs only; identified is 403 naming the role; other roles may not run views', async () => {
    const deid = await s.call('analyst', 'POST', '/fhir/$viewdefinition-run', JSON.stringify(run(false)), FHIR);
    expect(deid.status).toBe(200);
    expect(deid.body).toHaveLength(1);
    expect(deid.body[0].client).not.toBe(patient); // a pseudonym
    const refused = await s.call('analyst', 'POST', '/fhir/$viewdefinition-run', JSON.stringify(run(true)), FHIR);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('privacy-officer');
    const exportRefused = await s.call('analyst', 'GET', '/fhir/$export?deidentify=false', undefined, { prefer: 'respond-async' });
    expect(exportRefused.status).toBe(403);
    for (const role of ['source', 'operator', 'fhir-reader'] as const) {
      expect([role, (await s.call(role, 'POST', '/fhir/$viewdefinition-run', JSON.stringify(run(false)), FHIR)).status]).toStrictEqual([role, 403]);
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the audit's flush
    expect(await identifiedEntries()).toStrictEqual([]);
  });

  test('privacy officer: the identified run is recorded in the access audit, with the patient it was restricted to', async () => {
    const body = run(true);
    body.parameter.push({ name: 'patient', valueReference: { reference: `Patient/${patient}` } } as never);
    const r = await s.call('privacy-officer', 'POST', '/fhir/$viewdefinition-run', JSON.stringify(body), FHIR);
    expect(r.status).toBe(200);
    expect(r.body).toStrictEqual([expect.objectContaining({ client: patient })]);
    let entries: any[] = [];
    await waitFor(async () => (entries = await identifiedEntries()).length > 0, 5000, 'the identified run in the access audit');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ who: 'privacy-officer-key', route: 'identified $viewdefinition-run view inline Encounter', status: 200 });
    expect(JSON.stringify(entries[0])).toContain(`Patient/${patient}`);
  });

  test('privacy officer: an identified $export kick-off and each download are recorded too', async () => {
    const kick = await s.call('privacy-officer', 'GET', '/fhir/$export?_type=Encounter&deidentify=false', undefined, { prefer: 'respond-async' });
    expect(kick.status).toBe(202);
    const status = kick.headers.get('content-location') as string;
    let manifest: any;
    await waitFor(
      async () => {
        const r = await s.call('privacy-officer', 'GET', new URL(status).pathname);
        manifest = r.body;
        return r.status === 200;
      },
      30_000,
      'the export to finish'
    );
    const file = await s.call('privacy-officer', 'GET', new URL(manifest.output[0].url).pathname);
    expect(file.status).toBe(200);
    expect(file.text).toContain(patient);
    let entries: any[] = [];
    await waitFor(async () => (entries = await identifiedEntries()).length >= 3, 5000, 'the export and the download in the access audit');
    expect(entries.map((e) => e.route.split(' ').slice(0, 2).join(' ')).sort()).toStrictEqual(['identified $export', 'identified $viewdefinition-run', 'identified download']);
  });
});
