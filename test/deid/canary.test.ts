/**
 * The canary: the demo dataset with a canary name, phone number and note text in it goes through the real
 * service to the embedded FHIR server. Every de-identified output (system, Patient and Group $export, a
 * $viewdefinition-export and $viewdefinition-run in every format of the shipped views and of views reaching
 * for names, telecom and note content, and the de-identifier applied to every stored resource and local
 * AuditEvent) must be free of them, plainly or base64-encoded.
 * An identified export of the same data holds them: the checks can see.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parquetReadObjects } from 'hyparquet';
import type { Resource, ViewDefinition } from '@medplum/fhirtypes';
import { loadViews } from '../../src/analytics/views.js';
import { createDeidentifier } from '../../src/deid/index.js';
import { textHolds } from '../consent/helpers/marker.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC, CANARY, loadDemo, pollUntilDone, startExportService, type ExportService } from '../exports/helpers.js';

const PHI = [CANARY.given, CANARY.family, CANARY.phone, CANARY.phone.replace(/^\+1-/, ''), CANARY.note.slice(0, 20)];
/** The canary client's MRN too (logs may name MRNs until issue #10; de-identified outputs never). */
const MARKERS = [...PHI, 'MRN-1001'];

const view = (name: string, resource: string, paths: Record<string, string>): ViewDefinition =>
  ({
    resourceType: 'ViewDefinition',
    name,
    status: 'active',
    resource,
    select: [{ column: Object.entries(paths).map(([n, path]) => ({ name: n, path, collection: true })) }],
  }) as unknown as ViewDefinition;

/** The shipped views (views/). */
const SHIPPED = loadViews()
  .list()
  .map((v) => v.name);

const PROBING_VIEWS = [
  view('people', 'RelatedPerson', { id: 'getResourceKey()', given: 'name.given', family: 'name.family', text: 'name.text', phone: 'telecom.value', narrative: 'text.div' }),
  view('notes', 'DocumentReference', { id: 'getResourceKey()', data: 'content.attachment.data', url: 'content.attachment.url', title: 'content.attachment.title', description: 'description' }),
  view('patients', 'Patient', { id: 'getResourceKey()', family: 'name.family', phone: 'telecom.value', birth: 'birthDate' }),
];

describe('canary: nothing identifying leaves de-identified', () => {
  const tmp = tempDir('deid-canary-');
  let svc: ExportService;
  const outputs: { what: string; text: string }[] = [];

  async function collect(what: string, kick: { method: string; path: string; body?: unknown }): Promise<void> {
    const k = await svc.api(kick.method, kick.path, kick.body, ASYNC);
    expect(k.status).toBe(202);
    const { final } = await pollUntilDone(svc, k.headers.get('content-location') as string);
    let urls: string[];
    if (final.status === 303) {
      const result = (await svc.api('GET', final.headers.get('location') as string)).body;
      urls = result.parameter.filter((p: any) => p.name === 'output').flatMap((p: any) => p.part.filter((x: any) => x.name === 'location').map((x: any) => x.valueUri));
    } else {
      expect(final.status).toBe(200);
      urls = [...final.body.output, ...final.body.error].map((o: any) => o.url);
    }
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      const file = await svc.api('GET', url);
      expect(file.status).toBe(200);
      outputs.push({ what: `${what} ${url.split('/').pop()}`, text: file.text });
    }
  }

  beforeAll(async () => {
    svc = await startExportService(tmp.dir);
    await loadDemo(svc, true);
    const db = new Database(join(tmp.dir, 'fhir.sqlite'), { readonly: true });
    const lily = (db.prepare("SELECT id FROM resources WHERE resource_type = 'Patient' AND content LIKE '%MRN-1001%'").get() as { id: string }).id;
    db.close();
    const group = await svc.api('POST', '/fhir/Group', { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${lily}` } }] });

    await collect('system $export', { method: 'GET', path: '/fhir/$export' });
    await collect('Patient $export', { method: 'GET', path: '/fhir/Patient/$export' });
    await collect('Group $export', { method: 'GET', path: `/fhir/Group/${group.body.id}/$export` });
    for (const format of ['ndjson', 'csv', 'json']) {
      await collect(`views (${format})`, {
        method: 'POST',
        path: '/fhir/$viewdefinition-export',
        body: {
          resourceType: 'Parameters',
          parameter: [
            ...PROBING_VIEWS.map((resource) => ({ name: 'view', part: [{ name: 'viewResource', resource }] })),
            ...SHIPPED.map((name) => ({ name: 'view', part: [{ name: 'viewReference', valueReference: { reference: `ViewDefinition/${name}` } }] })),
            { name: '_format', valueCode: format },
          ],
        },
      });
    }
    // $viewdefinition-run, de-identified by default, of every shipped view and every probing view, in every format.
    for (const format of ['json', 'ndjson', 'csv', 'parquet']) {
      for (const view of [...SHIPPED.map((name) => ({ name, ref: { name: 'viewReference', valueReference: { reference: `ViewDefinition/${name}` } } })), ...PROBING_VIEWS.map((v) => ({ name: v.name as string, ref: { name: 'viewResource', resource: v } }))]) {
        const res = await fetch(`${svc.url}/fhir/$viewdefinition-run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Parameters', parameter: [view.ref, { name: '_format', valueCode: format }] }),
        });
        expect(res.status).toBe(200);
        const bytes = await res.arrayBuffer();
        const text =
          format === 'parquet'
            ? JSON.stringify(await parquetReadObjects({ file: bytes }), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
            : Buffer.from(bytes).toString('utf8');
        outputs.push({ what: `run ${view.name} (${format})`, text });
      }
    }
    // The de-identifier itself over everything held: the embedded store and the local AuditEvents.
    const deidentify = createDeidentifier(svc.deid.policy, svc.deid.key);
    const fhir = new Database(join(tmp.dir, 'fhir.sqlite'), { readonly: true });
    const local = new Database(join(tmp.dir, 'collateral.sqlite'), { readonly: true });
    const everything = [
      ...(fhir.prepare('SELECT content FROM resources WHERE deleted = 0').all() as { content: string }[]).map((r) => JSON.parse(r.content) as Resource),
      ...(local.prepare('SELECT event FROM audit').all() as { event: string }[]).map((r) => JSON.parse(r.event) as Resource),
    ];
    fhir.close();
    local.close();
    expect(everything.some((r) => r.resourceType === 'AuditEvent')).toBe(true);
    outputs.push({ what: 'createDeidentifier over the store and the audit', text: everything.map((r) => JSON.stringify(deidentify(r) ?? null)).join('\n') });
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  test('the canary went in: synced to the embedded FHIR server and found by an identified export (the checks can see)', async () => {
    const note = await svc.api('GET', '/api/v1/notes/n-1001-01');
    expect(note.body.sync[0].state).toBe('synced');
    const mother = await svc.api('GET', '/api/v1/participants/p-1001-mother');
    expect(mother.body.sync[0].state).toBe('synced');
    const k = await svc.api('GET', '/fhir/$export?_type=Patient,RelatedPerson,DocumentReference&deidentify=false', undefined, ASYNC);
    const { final } = await pollUntilDone(svc, k.headers.get('content-location') as string);
    const text = (await Promise.all(final.body.output.map(async (o: any) => (await svc.api('GET', o.url)).text))).join('\n');
    for (const marker of MARKERS) {
      expect(textHolds(text, marker)).toBe(true);
    }
    const run = await svc.api('POST', '/fhir/$viewdefinition-run', {
      resourceType: 'Parameters',
      parameter: [{ name: 'viewResource', resource: PROBING_VIEWS[0] }, { name: '_format', valueCode: 'ndjson' }, { name: 'deidentify', valueBoolean: false }],
    });
    expect(textHolds(run.text, CANARY.family)).toBe(true);
    expect(textHolds(run.text, CANARY.phone)).toBe(true);
  });

  test('no de-identified output holds the canary name, phone or note text', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(15 + 4 * (SHIPPED.length + PROBING_VIEWS.length));
    const leaks = outputs.flatMap((o) => MARKERS.filter((m) => textHolds(o.text, m)).map((m) => `${o.what}: ${m}`));
    expect(leaks).toEqual([]);
  });

  test('the outputs are not empty: the canary client\'s data is there, pseudonymized', () => {
    const people = outputs.find((o) => o.what.startsWith('views (ndjson) people'));
    expect(people?.text.trim().split('\n').length).toBeGreaterThan(5);
    const run = outputs.find((o) => o.what === 'run people (ndjson)');
    expect(run?.text.trim().split('\n').length).toBeGreaterThan(5);
    const system = outputs.filter((o) => o.what.startsWith('system $export')).map((o) => o.what);
    expect(system).toEqual(expect.arrayContaining(['system $export RelatedPerson.ndjson', 'system $export DocumentReference.ndjson', 'system $export Patient.ndjson']));
  });

  test('no log line holds the canary', () => {
    expect(PHI.filter((m) => textHolds(svc.logs(), m))).toEqual([]);
  });
});
