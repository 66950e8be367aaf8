/**
 * $viewdefinition-export through the real service over HTTP, on the demo dataset, with the service's own
 * evaluator, writers and shipped views (src/analytics): kick-off, polling, 303 to the result, one output per
 * view with its location, downloads (ndjson, csv, parquet read back by hyparquet), filters, identified
 * output, DELETE, and the errors (400, 404, 422).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parquetReadObjects } from 'hyparquet';
import { createPseudonymizer } from '../../src/deid/index.js';
import type { IdentifiedAccessEvent } from '../../src/exports/index.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC, loadDemo, ndjson, pollUntilDone, startExportService, type ExportService } from './helpers.js';

const PARTICIPANTS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'participants',
  status: 'active',
  resource: 'RelatedPerson',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()' }, { name: 'client', path: 'patient.getReferenceKey(Patient)' }, { name: 'family', path: 'name.family' }] }],
};

const param = (name: string, value: Record<string, unknown>) => ({ name, ...value });
const viewRef = (ref: string, name?: string) => ({ name: 'view', part: [...(name ? [param('name', { valueString: name })] : []), param('viewReference', { valueReference: { reference: ref } })] });
const viewInline = (resource: unknown) => ({ name: 'view', part: [param('viewResource', { resource })] });
const body = (...parameter: unknown[]) => ({ resourceType: 'Parameters', parameter });
const partsOf = (p: any, name: string): any[] => p.parameter.filter((x: any) => x.name === name);
const valueOf = (p: any, name: string): unknown => {
  const found = p.parameter.find((x: any) => x.name === name);
  return found && Object.entries(found).find(([k]) => k.startsWith('value'))?.[1];
};

describe('$viewdefinition-export on the demo dataset', () => {
  const tmp = tempDir('view-export-');
  let svc: ExportService;
  const events: IdentifiedAccessEvent[] = [];
  let patientIds: Record<string, string>;
  let encounters: number;

  beforeAll(async () => {
    svc = await startExportService(tmp.dir, { onIdentifiedAccess: (e) => void events.push(e) });
    await loadDemo(svc);
    const db = new Database(join(tmp.dir, 'fhir.sqlite'), { readonly: true });
    encounters = (db.prepare("SELECT count(*) AS n FROM resources WHERE resource_type = 'Encounter' AND deleted = 0").get() as { n: number }).n;
    patientIds = Object.fromEntries(
      (db.prepare("SELECT id, content FROM resources WHERE resource_type = 'Patient'").all() as { id: string; content: string }[]).map((r) => [JSON.parse(r.content).identifier[0].value, r.id])
    );
    db.close();
  }, 120_000);

  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  async function run(parameters: unknown): Promise<{ location: string; result: any; kickOff: any }> {
    const kick = await svc.api('POST', '/fhir/$viewdefinition-export', parameters, ASYNC);
    expect(kick.status).toBe(202);
    const location = kick.headers.get('content-location') as string;
    const { final, progress } = await pollUntilDone(svc, location);
    for (const p of progress) {
      expect(valueOf(p.body, 'status')).toMatch(/accepted|in-progress/);
      expect(p.headers.get('x-progress')).toBeTruthy();
    }
    expect(final.status).toBe(303);
    expect(final.headers.get('location')).toBe(`${location}/result`);
    const result = await svc.api('GET', `${location}/result`);
    expect(result.status).toBe(200);
    expect(result.headers.get('expires')).toBeTruthy();
    return { location, result: result.body, kickOff: kick.body };
  }

  test('two views (a reference and an inline one): 202 with Parameters, 303 to the result, one output per view, de-identified rows', async () => {
    const { location, result, kickOff } = await run(
      body(viewRef('ViewDefinition/collateral_sessions'), viewInline(PARTICIPANTS_VIEW), param('clientTrackingId', { valueString: 'monthly-2026-02' }))
    );
    const exportId = location.split('/').pop();
    expect(valueOf(kickOff, 'exportId')).toBe(exportId);
    expect(valueOf(kickOff, 'status')).toBe('accepted');
    expect(valueOf(kickOff, 'location')).toBe(location);
    expect(valueOf(result, 'status')).toBe('completed');
    expect(valueOf(result, 'clientTrackingId')).toBe('monthly-2026-02');
    expect(valueOf(result, '_format')).toBe('ndjson');
    const outputs = partsOf(result, 'output').map((o) => ({ name: o.part[0].valueString, locations: o.part.slice(1).map((l: any) => l.valueUri) }));
    expect(outputs.map((o) => o.name)).toEqual(['collateral_sessions', 'participants']);
    const sessions = ndjson((await svc.api('GET', outputs[0].locations[0])).text);
    expect(sessions).toHaveLength(encounters);
    const pseudonyms = Object.values(patientIds).map((id) => createPseudonymizer(svc.deid.key).hash(id));
    expect(sessions.every((row) => pseudonyms.includes(row.client_key))).toBe(true);
    const participants = ndjson((await svc.api('GET', outputs[1].locations[0])).text);
    expect(participants.length).toBeGreaterThan(0);
    expect(participants.every((row) => row.family === null || row.family === undefined)).toBe(true); // names are gone before the view sees them
    expect(events).toEqual([]);
  });

  test('csv, a patient filter, and the view name given in the request', async () => {
    const { result } = await run(
      body(viewRef('ViewDefinition/collateral_sessions', 'lily sessions'), param('_format', { valueCode: 'csv' }), param('patient', { valueReference: { reference: `Patient/${patientIds['MRN-1001']}` } }))
    );
    const output = partsOf(result, 'output')[0];
    expect(output.part[0].valueString).toBe('lily_sessions');
    const file = await svc.api('GET', output.part[1].valueUri);
    expect(file.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = file.text.trim().split('\n');
    expect(lines[0]).toMatch(/^session_key,client_key,month,status,/);
    const pseudonym = createPseudonymizer(svc.deid.key).hash(patientIds['MRN-1001']);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.split(',')[1] === pseudonym)).toBe(true);
  });

  test('parquet: the shipped sessions view, read back by hyparquet, matches the ndjson rows', async () => {
    const { result } = await run(body(viewRef('ViewDefinition/collateral_sessions'), param('_format', { valueCode: 'parquet' })));
    expect(valueOf(result, '_format')).toBe('parquet');
    const url = partsOf(result, 'output')[0].part[1].valueUri as string;
    expect(url).toMatch(/collateral_sessions\.parquet$/);
    const res = await fetch(url, { headers: { authorization: `Bearer ${svc.apiTokens[0]}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/parquet/);
    const rows = (await parquetReadObjects({ file: await res.arrayBuffer() })) as Record<string, unknown>[];
    expect(rows).toHaveLength(encounters);
    const pseudonyms = Object.values(patientIds).map((id) => createPseudonymizer(svc.deid.key).hash(id));
    expect(rows.every((row) => pseudonyms.includes(row.client_key as string))).toBe(true);
    expect(rows.every((row) => typeof row.month === 'string' && /^\d{4}-\d{2}$/.test(row.month))).toBe(true);
  });

  test('deidentify=false is identified and reported; DELETE cancels: the status answers 404 afterwards', async () => {
    const { location } = await run(body(viewInline(PARTICIPANTS_VIEW), param('deidentify', { valueBoolean: false })));
    expect(events).toEqual([{ who: 'local-admin', action: '$viewdefinition-export', types: ['RelatedPerson'], jobId: location.split('/').pop() }]);
    const result = (await svc.api('GET', `${location}/result`)).body;
    const rows = ndjson((await svc.api('GET', partsOf(result, 'output')[0].part[1].valueUri)).text);
    expect(rows.some((r) => r.family === 'Thistlewood')).toBe(true);
    expect((await svc.api('DELETE', location)).status).toBe(202);
    expect((await svc.api('GET', location)).status).toBe(404);
    expect((await svc.api('GET', `${location}/result`)).status).toBe(404);
  });

  test('errors: parameters 400 (all at once), an unknown view 404, an invalid view 422 with paths', async () => {
    const bad = await svc.api('POST', '/fhir/$viewdefinition-export', body(param('source', { valueString: 's3://bucket' }), param('_format', { valueCode: 'xlsx' }), param('_since', { valueInstant: 'soon' })), ASYNC);
    expect(bad.status).toBe(400);
    expect(bad.body.issue.map((i: any) => [i.code, i.expression[0]])).toEqual(
      expect.arrayContaining([
        ['not-supported', 'Parameters.parameter[0]'],
        ['not-supported', 'Parameters.parameter[1]'],
        ['invalid', 'Parameters.parameter[2]'],
        ['invalid', 'Parameters'],
      ])
    );
    const unknown = await svc.api('POST', '/fhir/$viewdefinition-export', body(viewRef('ViewDefinition/nope')), ASYNC);
    expect(unknown.status).toBe(404);
    expect(unknown.body.issue[0].details.text).toMatch(/no ViewDefinition .* on this server/); // the reference itself is not echoed (src/http/middleware/echo-guard.ts)
    const invalid = await svc.api('POST', '/fhir/$viewdefinition-export', body(viewInline({ resourceType: 'ViewDefinition', select: [] })), ASYNC);
    expect(invalid.status).toBe(422);
    expect(invalid.body.issue.map((i: any) => i.expression[0])).toEqual(['Parameters.parameter[0].part[0].resource.resource', 'Parameters.parameter[0].part[0].resource.select']);
    const noPrefer = await svc.api('POST', '/fhir/$viewdefinition-export', body(viewRef('ViewDefinition/collateral_sessions')));
    expect(noPrefer.status).toBe(400);
    const missingGroup = await svc.api('POST', '/fhir/ViewDefinition/$viewdefinition-export', body(viewRef('ViewDefinition/collateral_sessions'), param('group', { valueReference: { reference: 'Group/none' } })), ASYNC);
    expect(missingGroup.status).toBe(404);
  });
});
