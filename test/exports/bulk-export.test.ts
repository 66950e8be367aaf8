/**
 * FHIR Bulk Data $export through the real service over HTTP, on the demo dataset synced to the embedded
 * FHIR server: kick-off, polling, the manifest, NDJSON downloads, levels (system, Patient, Group),
 * _type and _since, identified output and its accounting hook, DELETE, expiry by the injected clock, and
 * every parameter error at once.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createPseudonymizer } from '../../src/deid/index.js';
import type { IdentifiedAccessEvent } from '../../src/exports/index.js';
import { tempDir } from '../helpers/tmp.js';
import { ASYNC, loadDemo, ndjson, pollUntilDone, startExportService, type ExportService } from './helpers.js';

const HOUR = 3_600_000;

describe('$export on the demo dataset', () => {
  const tmp = tempDir('bulk-export-');
  let svc: ExportService;
  let clock = Date.now();
  const events: IdentifiedAccessEvent[] = [];
  let counts: Record<string, number>;
  let patientIds: Record<string, string>;

  beforeAll(async () => {
    svc = await startExportService(tmp.dir, { now: () => new Date(clock), onIdentifiedAccess: (e) => void events.push(e) });
    await loadDemo(svc);
    const db = new Database(join(tmp.dir, 'fhir.sqlite'), { readonly: true });
    counts = Object.fromEntries(
      (db.prepare('SELECT resource_type AS t, count(*) AS n FROM resources WHERE deleted = 0 GROUP BY 1').all() as { t: string; n: number }[]).map((r) => [r.t, r.n])
    );
    // The service's own AuditEvents (its accounting of disclosures, DATA_DIR/collateral.sqlite) are held too.
    const local = new Database(join(tmp.dir, 'collateral.sqlite'), { readonly: true });
    counts.AuditEvent = (local.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    local.close();
    expect(counts.AuditEvent).toBeGreaterThan(0);
    patientIds = Object.fromEntries(
      (db.prepare("SELECT id, content FROM resources WHERE resource_type = 'Patient'").all() as { id: string; content: string }[]).map((r) => [
        JSON.parse(r.content).identifier[0].value,
        r.id,
      ])
    );
    db.close();
  }, 120_000);

  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  async function exportDone(path: string, method = 'GET', body?: unknown): Promise<{ location: string; manifest: any; progress: number }> {
    const kick = await svc.api(method, path, body, ASYNC);
    expect(kick.status).toBe(202);
    const location = kick.headers.get('content-location') as string;
    expect(location).toMatch(new RegExp(`^${svc.url}/fhir/_export/[0-9a-f-]{36}$`));
    const { final, progress } = await pollUntilDone(svc, location);
    for (const p of progress) {
      expect(p.headers.get('retry-after')).toBe('2');
      expect(p.headers.get('x-progress')).toBeTruthy();
    }
    expect(final.status).toBe(200);
    return { location, manifest: final.body, progress: progress.length };
  }

  async function download(manifest: any): Promise<Record<string, any[]>> {
    const out: Record<string, any[]> = {};
    for (const o of manifest.output) {
      const r = await svc.api('GET', o.url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^application\/fhir\+ndjson/);
      out[o.type] = ndjson(r.text);
      expect(out[o.type]).toHaveLength(o.count);
    }
    return out;
  }

  test('system level: 202, polling, a manifest with one NDJSON file per type, de-identified, files 0600 in a 0700 folder', async () => {
    const { location, manifest } = await exportDone('/fhir/$export');
    expect(manifest).toMatchObject({ request: `${svc.url}/fhir/$export`, requiresAccessToken: true, error: [] });
    expect(Date.parse(manifest.transactionTime)).not.toBeNaN();
    const byType = Object.fromEntries(manifest.output.map((o: any) => [o.type, o.count]));
    expect(byType).toEqual(counts);
    const files = await download(manifest);
    const pseudonym = createPseudonymizer(svc.deid.key).hash(patientIds['MRN-1001']);
    expect(files.Patient.map((p) => p.id)).toContain(pseudonym);
    expect(files.Encounter.every((e) => /^Patient\/[0-9a-f]{64}$/.test(e.subject.reference))).toBe(true);
    const text = JSON.stringify(files);
    for (const identifying of ['Thistlewood', 'Kestrelby', 'Wrenfield', '555-01', 'MRN-1001', patientIds['MRN-1001']]) {
      expect(text).not.toContain(identifying);
    }
    const dir = join(tmp.dir, 'exports', location.split('/').pop() as string);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'Patient.ndjson')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'status.json')).mode & 0o777).toBe(0o600);
    expect(events).toEqual([]); // de-identified: nothing to account for
  });

  test('_type and _since narrow the export; a _since after everything gives an empty output', async () => {
    const { manifest } = await exportDone('/fhir/$export?_type=Patient,Encounter&_outputFormat=application%2Ffhir%2Bndjson');
    expect(manifest.output.map((o: any) => o.type).sort()).toEqual(['Encounter', 'Patient']);
    const future = new Date(Date.now() + HOUR).toISOString();
    const empty = await exportDone(`/fhir/$export?_since=${encodeURIComponent(future)}&_outputFormat=ndjson`);
    expect(empty.manifest.output).toEqual([]);
  });

  test('Patient level: compartment types only; POST with patient restricts to that client', async () => {
    const all = await exportDone('/fhir/Patient/$export');
    const types = all.manifest.output.map((o: any) => o.type);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Encounter', 'RelatedPerson', 'Consent', 'DocumentReference']));
    expect(types).not.toContain('Practitioner');
    const one = await exportDone('/fhir/Patient/$export', 'POST', {
      resourceType: 'Parameters',
      parameter: [{ name: 'patient', valueReference: { reference: `Patient/${patientIds['MRN-1002']}` } }],
    });
    const files = await download(one.manifest);
    const pseudonym = createPseudonymizer(svc.deid.key).hash(patientIds['MRN-1002']);
    expect(files.Patient.map((p) => p.id)).toEqual([pseudonym]);
    expect(files.Encounter.length).toBeGreaterThan(0);
    expect(files.Encounter.every((e) => e.subject.reference === `Patient/${pseudonym}`)).toBe(true);
    expect(files.RelatedPerson.every((r) => r.patient.reference === `Patient/${pseudonym}`)).toBe(true);
  });

  test('Group level: the members\' compartments; an unknown Group is 404', async () => {
    const group = await svc.api('POST', '/fhir/Group', {
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${patientIds['MRN-1003']}` } }],
    });
    expect(group.status).toBe(201);
    const { manifest } = await exportDone(`/fhir/Group/${group.body.id}/$export?_type=Patient,Encounter`);
    const files = await download(manifest);
    const pseudonym = createPseudonymizer(svc.deid.key).hash(patientIds['MRN-1003']);
    expect(files.Patient.map((p) => p.id)).toEqual([pseudonym]);
    expect(files.Encounter.every((e) => e.subject.reference === `Patient/${pseudonym}`)).toBe(true);
    const missing = await svc.api('GET', '/fhir/Group/no-such-group/$export', undefined, ASYNC);
    expect(missing.status).toBe(404);
    expect(missing.body.issue[0].details.text).toBe('Group/no-such-group is not on this server');
  });

  test('deidentify=false: identified output, reported to the accounting hook at kick-off and at each download', async () => {
    const { location, manifest } = await exportDone('/fhir/$export?_type=RelatedPerson&deidentify=false');
    const jobId = location.split('/').pop();
    expect(events).toEqual([{ who: 'local-admin', action: '$export', types: ['RelatedPerson'], jobId }]);
    const files = await download(manifest);
    expect(JSON.stringify(files.RelatedPerson)).toContain('Thistlewood');
    expect(events[1]).toEqual({ who: 'local-admin', action: 'download', types: ['RelatedPerson'], jobId });
  });

  test('DELETE removes the job and its files: the status and the files answer 404', async () => {
    const { location, manifest } = await exportDone('/fhir/$export?_type=Patient');
    const dir = join(tmp.dir, 'exports', location.split('/').pop() as string);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect((await svc.api('DELETE', location)).status).toBe(202);
    expect((await svc.api('GET', location)).status).toBe(404);
    expect((await svc.api('GET', manifest.output[0].url)).status).toBe(404);
    expect(() => statSync(dir)).toThrow();
    expect((await svc.api('DELETE', location)).status).toBe(404);
  });

  test('results are kept 24 hours, then the job is gone and the sweep deletes its files', async () => {
    const { location, manifest } = await exportDone('/fhir/$export?_type=Patient');
    const dir = join(tmp.dir, 'exports', location.split('/').pop() as string);
    const started = clock;
    clock = started + 24 * HOUR - 60_000;
    expect((await svc.api('GET', location)).status).toBe(200);
    expect((await svc.api('GET', manifest.output[0].url)).status).toBe(200);
    clock = started + 24 * HOUR + 60_000;
    expect((await svc.api('GET', location)).status).toBe(404);
    expect((await svc.api('GET', manifest.output[0].url)).status).toBe(404);
    expect(svc.exports?.manager.sweep()).toBeGreaterThanOrEqual(1);
    expect(() => statSync(dir)).toThrow();
    clock = Date.now();
  });

  test('bad kick-offs: every problem at once, each naming its parameter; Prefer: respond-async is required', async () => {
    const noPrefer = await svc.api('GET', '/fhir/$export');
    expect(noPrefer.status).toBe(400);
    expect(noPrefer.body.issue).toEqual([expect.objectContaining({ code: 'required', expression: ['Prefer'] })]);
    const bad = await svc.api('GET', '/fhir/$export?_type=Patient,Spaceship&_since=yesterday&_typeFilter=Patient%3Factive%3Dtrue&_outputFormat=text/csv&colour=red&deidentify=maybe', undefined, ASYNC);
    expect(bad.status).toBe(400);
    const issues = bad.body.issue.map((i: any) => [i.expression?.[0], i.code, i.details.text]);
    expect(issues).toEqual(
      expect.arrayContaining([
        ['_type', 'invalid', '_type: "Spaceship" is not a FHIR R4 resource type'],
        ['_since', 'invalid', expect.stringMatching(/_since must be an instant/)],
        ['deidentify', 'invalid', 'deidentify must be true or false'],
        ['_typeFilter', 'not-supported', '_typeFilter is not supported by this server'],
        ['_outputFormat', 'not-supported', expect.stringMatching(/NDJSON is the only format/)],
        ['colour', 'not-supported', expect.stringMatching(/colour is not a parameter of \$export/)],
      ])
    );
    expect(issues).toHaveLength(6);
    const getPatient = await svc.api('GET', '/fhir/Patient/$export?patient=Patient/x', undefined, ASYNC);
    expect(getPatient.body.issue[0].details.text).toMatch(/patient is accepted in the Parameters body of a POST/);
    const notParameters = await svc.api('POST', '/fhir/$export', { resourceType: 'Patient' }, ASYNC);
    expect(notParameters.status).toBe(400);
    expect(notParameters.body.issue[0].details.text).toMatch(/must be a FHIR Parameters resource/);
  });

  test('exports need a token like every /fhir request', async () => {
    const r = await fetch(`${svc.url}/fhir/$export`, { headers: ASYNC });
    expect(r.status).toBe(401);
  });
});
