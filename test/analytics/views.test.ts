/**
 * The shipped views (views/) on the demo dataset (examples/), sent through the real service and
 * synced to its embedded FHIR server: every view returns one row per resource the server holds, with
 * each column equal to what a plain reading of that resource gives (computed here independently),
 * keys join across views, and json, ndjson, csv and parquet (read back by hyparquet) carry the same
 * rows. No view output carries a name, phone number or note text. The disclosures view reads the
 * service's local AuditEvents (DATA_DIR/collateral.sqlite), compared here with the rows of that table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parquetReadObjects } from 'hyparquet';
import { loadViews } from '../../src/analytics/views.js';
import { createPseudonymizer } from '../../src/deid/index.js';
import { projectRoot } from '../../src/paths.js';
import type { TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { ndjsonRows, parameters, runView, startDemoService } from './helpers.js';

const identified = { name: 'deidentify', valueBoolean: false };
const SNOMED = 'http://snomed.info/sct';
const CPT = 'http://www.ama-assn.org/go/cpt';
const ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const COLLATERAL_ROLE = 'https://fhir.example-practice.org/CodeSystem/collateral-role';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const idOf = (ref: string | undefined, type?: string): string | null => {
  const m = /^([A-Za-z]+)\/([^/]+)$/.exec(ref ?? '');
  return m && (!type || m[1] === type) ? m[2] : null;
};
const codes = (ccs: any[] | undefined, system?: string): string[] =>
  (ccs ?? []).flatMap((cc: any) => (cc.coding ?? []).filter((c: any) => !system || c.system === system).map((c: any) => c.code));
const isPerformer = (p: any): boolean => codes(p.type).includes('PPRF');

/** What each view should say about one resource, read plainly from the FHIR JSON. */
const expected: Record<string, (r: any) => Record<string, unknown>> = {
  collateral_sessions: (e) => {
    const others = (e.participant ?? []).filter((p: any) => !isPerformer(p));
    return {
      session_key: e.id,
      client_key: idOf(e.subject?.reference, 'Patient'),
      month: e.period.start.slice(0, 7),
      status: e.status,
      session_type: e.serviceType?.text ?? null,
      cpt_code: codes(e.type, CPT)[0] ?? null,
      modality: e.class?.code ?? null,
      client_present: codes(e.type, SNOMED)[0] === '308335008',
      minutes: e.length?.value ?? null,
      therapist_key: idOf((e.participant ?? []).find(isPerformer)?.individual?.reference, 'Practitioner'),
      participant_count: others.length,
      consultant_count: others.filter((p: any) => codes(p.type).includes('CON')).length,
      participant_keys: others.map((p: any) => idOf(p.individual?.reference)).filter((k: string | null) => k !== null),
      purposes: codes(e.reasonCode),
    };
  },
  participants: (p) => ({
    participant_key: p.id,
    client_key: idOf(p.patient?.reference, 'Patient'),
    relationship: codes([p.relationship[0]], COLLATERAL_ROLE)[0] ?? codes([p.relationship[0]], ROLE)[0] ?? null,
    relationship_text: p.relationship[0].text ?? null,
    family: codes(p.relationship, ROLE).length > 0,
    legal_guardian: codes(p.relationship, ROLE).includes('GUARD'),
    active: p.active ?? null,
    involvement_start: p.period?.start ?? null,
    involvement_end: p.period?.end ?? null,
  }),
  consents: (c) => ({
    consent_key: c.id,
    client_key: idOf(c.patient?.reference, 'Patient'),
    status: c.status,
    revoked: c.status === 'inactive',
    period_start: c.provision?.period?.start ?? null,
    period_end: c.provision?.period?.end ?? null,
    actions: codes(c.provision?.action),
    purposes: (c.provision?.purpose ?? []).map((x: any) => x.code),
    data_classes: codes(c.provision?.code),
    excluded_sensitivities: (c.provision?.provision ?? []).filter((p: any) => p.type === 'deny').flatMap((p: any) => (p.securityLabel ?? []).map((s: any) => s.code)),
    legal_basis: c.policyRule?.text ?? null,
    policy_rule: codes([c.policyRule])[0] ?? null,
    part2: (c.provision?.securityLabel ?? []).some((s: any) => s.code === '42CFRPart2'),
    recipient_count: (c.provision?.actor ?? []).filter((a: any) => codes([a.role]).includes('IRCP')).length,
  }),
  notes: (d) => ({
    note_key: d.id,
    client_key: idOf(d.subject?.reference, 'Patient'),
    session_key: idOf(d.context?.encounter?.[0]?.reference, 'Encounter'),
    kind: d.type?.text ?? null,
    kind_code: codes([d.type])[0] ?? null,
    status: d.docStatus ?? null,
    sensitivity_labels: codes(d.securityLabel, ACT),
    confidentiality: codes(d.securityLabel, 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality')[0] ?? null,
    session_month: d.context?.period?.start?.slice(0, 7) ?? null,
    days_to_signature:
      d.date && d.context?.period?.start ? Math.round((Date.parse(d.date.slice(0, 10)) - Date.parse(d.context.period.start.slice(0, 10))) / 86_400_000) : null,
  }),
  disclosures: (a) => {
    const destination = (a.agent ?? []).find((g: any) => g.requestor === false);
    const written = (a.entity ?? []).filter((e: any) => e.role?.code === '4');
    return {
      disclosure_key: a.id,
      client_mrn_key: (a.entity ?? []).find((e: any) => e.role?.code === '1')?.what?.identifier?.value ?? null,
      target: destination?.who?.display ?? null,
      target_host: destination?.network?.address ?? null,
      interaction: a.subtype?.[0]?.code ?? null,
      resource_types: written.map((e: any) => e.what.reference.split('/')[0]),
      resource_count: written.length,
      consent_refs: (a.agent ?? []).find((g: any) => g.requestor === true)?.policy ?? [],
      purpose: codes(a.purposeOfEvent)[0] ?? null,
      legal_exception: codes(a.purposeOfEvent).some((c) => c !== 'TREAT'),
      month: a.recorded.slice(0, 7),
    };
  },
};

const RESOURCE: Record<string, string> = {
  collateral_sessions: 'Encounter',
  participants: 'RelatedPerson',
  consents: 'Consent',
  notes: 'DocumentReference',
  disclosures: 'AuditEvent',
};
const KEY: Record<string, string> = {
  collateral_sessions: 'session_key',
  participants: 'participant_key',
  consents: 'consent_key',
  notes: 'note_key',
  disclosures: 'disclosure_key',
};

/** A small RFC 4180 reader for the test (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else {
      field += ch;
    }
  }
  return rows;
}

/** Columns holding a mapping's label (a ConceptMap display) or a target's address: de-identification keeps those. */
const LABELS = ['session_type', 'relationship_text', 'kind', 'legal_basis', 'target', 'target_host'];

const sortBy = (key: string) => (a: any, b: any) => String(a[key]).localeCompare(String(b[key]));

describe('shipped views on the demo dataset', () => {
  const tmp = tempDir();
  let svc: TestService;
  const held: Record<string, any[]> = {};

  beforeAll(async () => {
    svc = await startDemoService(tmp.dir);
    // The service's own AuditEvents are in its local store (not on the FHIR server): the disclosures
    // view reads those of successful writes.
    const local = new Database(join(tmp.dir, 'collateral.sqlite'), { readonly: true });
    held.AuditEvent = (local.prepare('SELECT event FROM audit').all() as { event: string }[]).map((r) => JSON.parse(r.event)).filter((a) => a.outcome === '0');
    local.close();
    for (const type of Object.values(RESOURCE).filter((t) => t !== 'AuditEvent')) {
      const r = await svc.api('GET', `/fhir/${type}?_count=1000`);
      expect(r.status).toBe(200);
      held[type] = (r.body.entry ?? []).map((e: any) => e.resource);
    }
  }, 180_000);
  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  test('every shipped view is covered here', () => {
    expect(loadViews().list().map((v) => v.name).sort()).toStrictEqual(Object.keys(RESOURCE).sort());
  });

  test.each(Object.keys(RESOURCE))('%s: one row per resource held, each column as the resource says', async (view) => {
    expect(held[RESOURCE[view]].length).toBeGreaterThan(0);
    const r = await runView(svc, parameters({ view: `ViewDefinition/${view}`, format: 'json', extra: [identified] }));
    expect(r.status).toBe(200);
    const rows = (r.body as any[]).sort(sortBy(KEY[view]));
    const want = held[RESOURCE[view]].map(expected[view]).sort(sortBy(KEY[view]));
    expect(rows).toStrictEqual(want);
  });

  test('consents carry their data classes (provision.code), as the inbound records gave them', async () => {
    const r = await runView(svc, parameters({ view: 'ViewDefinition/consents', format: 'json', extra: [identified] }));
    const byKey = new Map((r.body as any[]).map((row) => [row.consent_key, row.data_classes]));
    const inbound = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.kind === 'consent');
    expect(inbound.some((e) => e.record.dataClasses?.length > 0)).toBe(true);
    let compared = 0;
    for (const { record } of inbound) {
      // Draft consents stay local (docs/fhir-mapping.md#consent): only the ones held are compared.
      const consent = held.Consent.find((c) => c.identifier.some((i: any) => i.system.endsWith('/sid/roi') && i.value === record.id));
      if (consent) {
        expect([record.id, byKey.get(consent.id)]).toStrictEqual([record.id, record.dataClasses ?? []]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1);
  });

  test('keys join across views: sessions to participants, notes to sessions, all to clients', async () => {
    const rows = async (view: string): Promise<any[]> =>
      (await runView(svc, parameters({ view: `ViewDefinition/${view}`, format: 'json', extra: [identified] }))).body;
    const [sessions, participants, notes] = await Promise.all([rows('collateral_sessions'), rows('participants'), rows('notes')]);
    const participantKeys = new Set(participants.map((p) => p.participant_key));
    const relatedPersonKeys = held.Encounter.flatMap((e) =>
      (e.participant ?? []).map((p: any) => idOf(p.individual?.reference, 'RelatedPerson')).filter((k: string | null) => k)
    );
    expect(relatedPersonKeys.length).toBeGreaterThan(0);
    relatedPersonKeys.forEach((k: string) => expect(participantKeys).toContain(k));
    const sessionKeys = new Set(sessions.map((s) => s.session_key));
    notes.forEach((n) => expect(sessionKeys).toContain(n.session_key));
    const patientIds = (await svc.api('GET', '/fhir/Patient?_count=1000')).body.entry.map((e: any) => e.resource.id);
    expect(new Set(sessions.map((s) => s.client_key)).size).toBeGreaterThan(1);
    [...sessions, ...participants, ...notes].forEach((row) => expect(patientIds).toContain(row.client_key));
  });

  test.each(Object.keys(RESOURCE))('%s: ndjson, csv and parquet carry the same rows as json', async (view) => {
    const run = async (format: string) => runView(svc, parameters({ view: `ViewDefinition/${view}`, format, extra: [identified] }));
    const json = ((await run('json')).body as any[]).sort(sortBy(KEY[view]));
    const columns = loadViews().resolve(view)!.view.columns;

    expect(ndjsonRows((await run('ndjson')).text).sort(sortBy(KEY[view]))).toStrictEqual(json);

    const [header, ...lines] = parseCsv((await run('csv')).text);
    expect(header).toStrictEqual(columns.map((c) => c.name));
    const asCsv = (v: unknown): string => (v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    expect(lines.sort((a, b) => a[header.indexOf(KEY[view])].localeCompare(b[header.indexOf(KEY[view])]))).toStrictEqual(
      json.map((row) => header.map((h) => asCsv(row[h])))
    );

    const parquet = await run('parquet');
    const bytes = Buffer.from(parquet.bytes);
    const back = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
    expect(back.sort(sortBy(KEY[view]))).toStrictEqual(json);
  });

  test.each(Object.keys(RESOURCE))('%s de-identified (the default): the same rows, with the same codes, labels and counts; keys pseudonymized', async (view) => {
    const ident = (await runView(svc, parameters({ view: `ViewDefinition/${view}`, format: 'json', extra: [identified] }))).body as any[];
    const deid = (await runView(svc, parameters({ view: `ViewDefinition/${view}`, format: 'json' }))).body as any[];
    expect(deid).toHaveLength(ident.length);
    const hash = createPseudonymizer(svc.deid.key).hash;
    const original = new Map(ident.map((r) => [hash(r[KEY[view]]), r]));
    // What de-identification keeps: codes, code displays (the labels), booleans, numbers. Keys become
    // pseudonyms and dates move (test/deid/view-run.test.ts); free text would be gone, and no view has any.
    const kept = loadViews()
      .resolve(view)!
      .view.columns.filter((c) => ['code', 'boolean', 'integer', 'decimal'].includes(c.type ?? '') || LABELS.includes(c.name))
      .map((c) => c.name);
    expect(kept.length).toBeGreaterThan(2);
    for (const row of deid) {
      const was = original.get(row[KEY[view]]);
      expect(was).toBeDefined();
      expect(Object.fromEntries(kept.map((c) => [c, row[c]]))).toStrictEqual(Object.fromEntries(kept.map((c) => [c, was[c]])));
    }
    expect(deid.some((row) => kept.some((c) => row[c] !== null))).toBe(true);
  });

  test('no view output carries a name, a phone number or note text, even identified', async () => {
    const records = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
    const canaries = [
      ...records.filter((r) => r.kind === 'participant').flatMap((r) => [r.record.name.family, ...(r.record.telecom ?? []).map((t: any) => t.value)]),
      ...records.filter((r) => r.kind === 'note').map((r) => r.record.text.slice(0, 40)),
    ];
    expect(canaries.length).toBeGreaterThan(20);
    for (const view of Object.keys(RESOURCE)) {
      for (const format of ['csv', 'ndjson']) {
        const text = (await runView(svc, parameters({ view: `ViewDefinition/${view}`, format, extra: [identified] }))).text;
        for (const canary of canaries) {
          expect(text).not.toContain(canary);
        }
      }
    }
  });
});
