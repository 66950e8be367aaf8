/**
 * POST /fhir/$viewdefinition-run on the real service: parameters and their errors (every problem,
 * with its pointer), formats, inline resources, the service's own data through the embedded store
 * (patient, group, _since, _limit), de-identification and the access audit, and errors before and
 * after the first chunk of output.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { IdentifiedAccessEvent } from '../../src/deid/identified-access.js';
import { createPseudonymizer } from '../../src/deid/index.js';
import type { TestService } from '../helpers/service.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { ndjsonRows, parameters, runView } from './helpers.js';

const patientView = {
  resourceType: 'ViewDefinition',
  resource: 'Patient',
  status: 'active',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'id' }, { name: 'family', path: 'name.family', type: 'string' }] }],
};
const encounterView = {
  resourceType: 'ViewDefinition',
  resource: 'Encounter',
  status: 'active',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'client', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'status', path: 'status', type: 'code' },
      ],
    },
  ],
};
const patients: Resource[] = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }], meta: { lastUpdated: '2026-01-01T00:00:00Z' } },
  { resourceType: 'Patient', id: 'p2', name: [{ family: 'Two' }], meta: { lastUpdated: '2026-03-01T00:00:00Z' } },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } } as Resource,
];
const identified = { name: 'deidentify', valueBoolean: false };

async function createInStore(svc: TestService, resources: Resource[]): Promise<Resource[]> {
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })) };
  const r = await svc.api('POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
  expect(r.status).toBe(200);
  return r.body.entry.map((e: any) => e.resource);
}

describe('$viewdefinition-run', () => {
  const tmp = tempDir();
  let svc: TestService;
  let store: { patients: Resource[]; encounters: Resource[]; group: Resource; before: string };

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
    const ps = await createInStore(svc, [
      { resourceType: 'Patient', name: [{ family: 'Alpha' }] },
      { resourceType: 'Patient', name: [{ family: 'Beta' }] },
      { resourceType: 'Patient', name: [{ family: 'Gamma' }] },
    ]);
    const enc = (p: Resource, status: string): Resource =>
      ({ resourceType: 'Encounter', status, class: { code: 'AMB' }, subject: { reference: `Patient/${p.id}` } }) as Resource;
    const first = await createInStore(svc, [enc(ps[0], 'finished'), enc(ps[1], 'finished')]);
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const later = await createInStore(svc, [enc(ps[1], 'planned'), enc(ps[2], 'cancelled')]);
    const [group] = await createInStore(svc, [
      { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${ps[0].id}` } }, { entity: { reference: `Patient/${ps[2].id}` } }] } as Resource,
    ]);
    store = { patients: ps, encounters: [...first, ...later], group, before };
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  describe('parameters', () => {
    test('a body that is not Parameters, without _format and without a view: every problem at once (400)', async () => {
      const r = await runView(svc, { resourceType: 'Parameters', parameter: [{ name: '_limit', valueInteger: 0 }] });
      expect(r.status).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
      const texts = r.body.issue.map((i: any) => `${i.expression?.[0]} ${i.details.text}`);
      expect(texts).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\/parameter _format is required/),
          expect.stringMatching(/^\/parameter give exactly one of viewResource/),
          expect.stringMatching(/^\/parameter\/0\/valueInteger .*must be a whole number/) // parameter names sent are not echoed (echo-guard.ts),
        ])
      );
      expect((await runView(svc, { resourceType: 'Bundle' })).status).toBe(400);
    });

    test('parameters we do not serve: 400 not-supported, source included', async () => {
      const r = await runView(svc, parameters({ view: patientView, format: 'json', extra: [{ name: 'source', valueString: 's3://x' }, { name: 'foo', valueString: 'x' }] }));
      expect(r.status).toBe(400);
      expect(r.body.issue.map((i: any) => [i.code, i.expression[0]])).toStrictEqual([
        ['not-supported', '/parameter/2/name'],
        ['not-supported', '/parameter/3/name'],
      ]);
      const q = await runView(svc, parameters({ view: patientView, format: 'json' }), {}, '?_count=5');
      expect(q.status).toBe(400);
      expect(q.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['?_count'] });
    });

    test('a _format we do not serve: 400 naming the formats', async () => {
      const r = await runView(svc, parameters({ view: patientView, format: 'xml', resources: patients }));
      expect(r.status).toBe(400);
      expect(r.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['/parameter/1/valueCode'] });
      expect(r.body.issue[0].details.text).toContain('json, ndjson, csv, parquet');
    });

    test('_format wins over Accept; the query string may carry it', async () => {
      const body = parameters({ view: patientView, format: 'ndjson', resources: patients });
      const r = await runView(svc, body, { accept: 'text/csv' });
      expect(r.status).toBe(200);
      expect(r.contentType).toContain('application/x-ndjson');
      expect(ndjsonRows(r.text)).toStrictEqual([
        { id: 'p1', family: 'One' },
        { id: 'p2', family: 'Two' },
      ]);
      const noFormat = { resourceType: 'Parameters', parameter: [{ name: 'viewResource', resource: patientView }, ...patients.map((p) => ({ name: 'resource', resource: p }))] };
      const q = await runView(svc, noFormat, { accept: 'application/json' }, '?_format=csv&header=false');
      expect(q.status).toBe(200);
      expect(q.contentType).toContain('text/csv');
      expect(q.text).toBe('p1,One\r\np2,Two\r\n');
    });

    test('each format with its content type; parquet as an attachment', async () => {
      const json = await runView(svc, parameters({ view: patientView, format: 'json', resources: patients }));
      expect(json.contentType).toContain('application/json');
      expect(json.body).toStrictEqual([
        { id: 'p1', family: 'One' },
        { id: 'p2', family: 'Two' },
      ]);
      const csv = await runView(svc, parameters({ view: patientView, format: 'csv', resources: patients }));
      expect(csv.text).toBe('id,family\r\np1,One\r\np2,Two\r\n');
      const res = await fetch(`${svc.url}/fhir/$viewdefinition-run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${svc.apiTokens[0]}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(parameters({ view: patientView, format: 'parquet', resources: patients })),
      });
      expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="inline.parquet"');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    });

    test('an invalid view: 422 with every problem, pointing into the request body', async () => {
      const view = { resourceType: 'ViewDefinition', resource: 'Patiant', select: [{ column: [{ name: '1bad', path: 'name.(' }, { name: 'ok', path: '%nope' }] }] };
      const r = await runView(svc, parameters({ view, format: 'json', resources: patients }));
      expect(r.status).toBe(422);
      expect(r.body.issue.map((i: any) => i.expression[0])).toStrictEqual([
        '/parameter/0/resource/resource',
        '/parameter/0/resource/select/0/column/0/path',
        '/parameter/0/resource/select/0/column/0/name',
        '/parameter/0/resource/select/0/column/1/path',
      ]);
    });

    test('an unknown viewReference: 404 naming the views there are', async () => {
      const r = await runView(svc, parameters({ view: 'ViewDefinition/nope', format: 'json' }));
      expect(r.status).toBe(404);
      expect(r.body.issue[0].details.text).toContain('ViewDefinition/collateral_sessions');
    });
  });

  describe('over the resources given', () => {
    test('runs over them, returned as given (no de-identification), filtered by patient, _since and _limit', async () => {
      const all = await runView(svc, parameters({ view: encounterView, format: 'json', resources: patients }));
      expect(all.body).toStrictEqual([{ id: 'e1', client: 'p1', status: 'finished' }]);
      const since = await runView(svc, parameters({ view: patientView, format: 'json', resources: patients, extra: [{ name: '_since', valueInstant: '2026-02-01T00:00:00Z' }] }));
      expect(since.body).toStrictEqual([{ id: 'p2', family: 'Two' }]);
      const patient = await runView(svc, parameters({ view: patientView, format: 'json', resources: patients, extra: [{ name: 'patient', valueReference: { reference: 'Patient/p2' } }] }));
      expect(patient.body).toStrictEqual([{ id: 'p2', family: 'Two' }]);
      const limited = await runView(svc, parameters({ view: patientView, format: 'json', resources: patients, extra: [{ name: '_limit', valueInteger: 1 }] }));
      expect(limited.body).toHaveLength(1);
    });

    test('a view that fails on the first rows: 422 OperationOutcome, not a broken 200', async () => {
      const twoNames = { resourceType: 'Patient', id: 'p3', name: [{ family: 'A' }, { family: 'B' }] };
      const r = await runView(svc, parameters({ view: patientView, format: 'csv', resources: [twoNames] }));
      expect(r.status).toBe(422);
      expect(r.body.issue[0]).toMatchObject({ code: 'processing', expression: ['/select/0/column/1/path'] });
    });

    test('a view that fails after output started: the response is cut, not completed', async () => {
      const many = Array.from({ length: 3000 }, (_, i) => ({ resourceType: 'Patient', id: `m${i}`, name: [{ family: `Family-${'x'.repeat(60)}-${i}` }] }));
      many.push({ resourceType: 'Patient', id: 'bad', name: [{ family: 'A' }, { family: 'B' }] });
      const outcome = await runView(svc, parameters({ view: patientView, format: 'json', resources: many })).then(
        (r) => (r.status === 200 ? (() => { JSON.parse(r.text); return 'complete'; })() : `status ${r.status}`),
        () => 'cut'
      ).catch(() => 'cut');
      expect(outcome).toBe('cut');
      expect(svc.logs()).toContain('view run failed while streaming');
    });
  });

  describe("over the service's own data (the embedded store)", () => {
    test('de-identified by default: every Encounter, ids and client keys pseudonymized with DEID_KEY', async () => {
      const r = await runView(svc, parameters({ view: encounterView, format: 'json' }));
      expect(r.status).toBe(200);
      const hash = createPseudonymizer(svc.deid.key).hash;
      expect((r.body as any[]).map((x) => x.id).sort()).toStrictEqual(store.encounters.map((e) => hash(e.id as string)).sort());
      const real = new Set(store.patients.map((p) => p.id));
      expect((r.body as any[]).every((x) => !real.has(x.client) && store.patients.some((p) => hash(p.id as string) === x.client))).toBe(true);
    });

    test('identified (deidentify=false, an admin): every Encounter of the store', async () => {
      const r = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified] }));
      expect(r.status).toBe(200);
      expect((r.body as any[]).map((x) => x.id).sort()).toStrictEqual(store.encounters.map((e) => e.id).sort());
    });

    test('patient and group restrict to their compartments; matching nothing is an empty result', async () => {
      const [a, b, c] = store.patients.map((p) => p.id);
      const byPatient = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified, { name: 'patient', valueReference: { reference: `Patient/${b}` } }] }));
      expect((byPatient.body as any[]).map((x) => x.client)).toStrictEqual([b, b]);
      const byGroup = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified, { name: 'group', valueReference: { reference: `Group/${store.group.id}` } }] }));
      expect((byGroup.body as any[]).map((x) => x.client).sort()).toStrictEqual([a, c].sort());
      const nobody = await runView(svc, parameters({ view: encounterView, format: 'csv', extra: [identified, { name: 'patient', valueReference: { reference: 'Patient/unknown' } }] }));
      expect(nobody.status).toBe(200);
      expect(nobody.text).toBe('id,client,status\r\n');
      const noGroup = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified, { name: 'group', valueReference: { reference: 'Group/unknown' } }] }));
      expect(noGroup.body).toStrictEqual([]);
    });

    test('_since keeps what changed at or after the instant; _limit stops early', async () => {
      const r = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified, { name: '_since', valueInstant: store.before }] }));
      expect((r.body as any[]).map((x) => x.status).sort()).toStrictEqual(['cancelled', 'planned']);
      const limited = await runView(svc, parameters({ view: encounterView, format: 'ndjson', extra: [identified, { name: '_limit', valueInteger: 3 }] }));
      expect(ndjsonRows(limited.text)).toHaveLength(3);
    });

    test('shipped views by reference run over the store', async () => {
      const r = await runView(svc, parameters({ view: 'ViewDefinition/collateral_sessions', format: 'json', extra: [identified] }));
      expect(r.status).toBe(200);
      expect((r.body as any[]).map((x) => x.session_key).sort()).toStrictEqual(store.encounters.map((e) => e.id).sort());
    });
  });
});

describe('$viewdefinition-run with the access audit hook', () => {
  const tmp = tempDir();
  let svc: TestService;
  const events: IdentifiedAccessEvent[] = [];
  let auditFails = false;
  let created: Resource[];

  beforeAll(async () => {
    svc = await startTestService(
      tmp.dir,
      { SYNC_ENABLED: 'false' },
      {
        onIdentifiedAccess: (event) => {
          if (auditFails) {
            throw new Error('audit store down');
          }
          events.push(event);
        },
      }
    );
    created = await createInStore(svc, [
      { resourceType: 'Patient', name: [{ family: 'Delta' }] },
      { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/x1' } } as Resource,
      { resourceType: 'Encounter', status: 'planned', class: { code: 'AMB' }, subject: { reference: 'Patient/x2' } } as Resource,
    ]);
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('by default every resource read from the store passes the de-identification policy before the view sees it; no access audit', async () => {
    const r = await runView(svc, parameters({ view: encounterView, format: 'json' }));
    expect(r.status).toBe(200);
    const hash = createPseudonymizer(svc.deid.key).hash;
    expect((r.body as any[]).map((x) => [x.client, x.status]).sort()).toStrictEqual([[hash('x1'), 'finished'], [hash('x2'), 'planned']].sort());
    const people = await runView(svc, parameters({ view: patientView, format: 'json' }));
    expect(people.body).toStrictEqual([{ id: hash(created[0].id as string), family: null }]); // the name is gone before the view sees it
    expect(events).toHaveLength(0);
    expect(svc.logs()).not.toContain('identified access');
  });

  test('an identified run is audited before any data is read, and gets the data as stored', async () => {
    const r = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified, { name: 'patient', valueReference: { reference: 'Patient/x1' } }] }));
    expect((r.body as any[]).map((x) => x.client)).toStrictEqual(['x1']);
    expect(events).toHaveLength(1);
    expect(events).toStrictEqual([{ who: 'local-admin', action: '$viewdefinition-run', types: ['Encounter'], view: 'inline', patients: ['x1'] }]);
    expect(svc.logs()).toContain('identified access');
  });

  test('no audit, no data: an audit that fails stops the identified run', async () => {
    auditFails = true;
    try {
      const r = await runView(svc, parameters({ view: encounterView, format: 'json', extra: [identified] }));
      expect(r.status).toBe(500);
      expect(r.body.resourceType).toBe('OperationOutcome');
    } finally {
      auditFails = false;
    }
  });
});
