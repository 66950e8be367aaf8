/**
 * `$viewdefinition-run` over the service's own data is de-identified by default, end to end over HTTP on
 * the demo dataset, with the shipped policy: every date of a client is shifted by that client's offset
 * (derived from DEID_KEY, non-zero, within the policy's range; time of day dropped), birth dates keep the year only, keys are
 * the pseudonyms the policy makes (so views join), and names, MRNs, contact details and note text are not
 * there. The identified run of the same views (deidentify=false, an admin) is the reference.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ViewDefinition } from '@medplum/fhirtypes';
import { projectRoot } from '../../src/paths.js';
import { createPseudonymizer } from '../../src/deid/index.js';
import { tempDir } from '../helpers/tmp.js';
import { loadDemo, ndjson, startExportService, type ExportService } from '../exports/helpers.js';

const view = (resource: string, columns: Record<string, string>): ViewDefinition =>
  ({
    resourceType: 'ViewDefinition',
    status: 'active',
    resource,
    select: [{ column: Object.entries(columns).map(([name, path]) => ({ name, path })) }],
  }) as unknown as ViewDefinition;

const SESSIONS = view('Encounter', { id: 'getResourceKey()', client: 'subject.getReferenceKey(Patient)', start: 'period.start', end: 'period.end' });
const PATIENTS = view('Patient', { id: 'getResourceKey()', birth: 'birthDate', mrn: "identifier.where(type.coding.code = 'MR').value.first()", family: 'name.family.first()', phone: 'telecom.value.first()' });
const NOTES = view('DocumentReference', { id: 'getResourceKey()', client: 'subject.getReferenceKey(Patient)', date: 'date', text: 'content.attachment.data.first()' });
const DAY = 86_400_000;
/** The calendar day of a FHIR dateTime as written (its own zone). */
const dayOf = (value: unknown): string => String(value).slice(0, 10);

describe('$viewdefinition-run is de-identified by default (demo dataset, shipped policy)', () => {
  const tmp = tempDir('deid-run-');
  let svc: ExportService;

  beforeAll(async () => {
    svc = await startExportService(tmp.dir);
    await loadDemo(svc);
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  async function run(v: ViewDefinition, identified = false): Promise<Record<string, any>[]> {
    const parameter = [{ name: 'viewResource', resource: v }, { name: '_format', valueCode: 'ndjson' }, ...(identified ? [{ name: 'deidentify', valueBoolean: false }] : [])];
    const r = await svc.api('POST', '/fhir/$viewdefinition-run', { resourceType: 'Parameters', parameter });
    expect(r.status).toBe(200);
    return ndjson(r.text);
  }

  test('dates move by the client offset the policy derives from DEID_KEY; keys are the pseudonyms of the ids', async () => {
    const pseudonyms = createPseudonymizer(svc.deid.key);
    const range = svc.deid.policy.dateShiftRangeDays;
    const real = new Map((await run(SESSIONS, true)).map((r) => [pseudonyms.hash(r.id), r]));
    const shifted = await run(SESSIONS);
    expect(shifted.length).toBeGreaterThan(5);
    expect(shifted).toHaveLength(real.size);
    const offsets = new Map<string, number>();
    for (const row of shifted) {
      const original = real.get(row.id); // the de-identified key is the pseudonym of the real id
      expect(original).toBeDefined();
      expect(row.client).toBe(pseudonyms.hash(original?.client));
      const offset = pseudonyms.offsetDays(row.client, range);
      expect(offset).not.toBe(0);
      expect(Math.abs(offset)).toBeLessThanOrEqual(range);
      // The calendar day as written, shifted; the time of day is dropped (docs/deidentification.md).
      expect(row.start).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Date.parse(row.start) - Date.parse(dayOf(original?.start))).toBe(offset * DAY);
      if (original?.end) {
        expect(Date.parse(row.end) - Date.parse(dayOf(original.end))).toBe(offset * DAY); // intervals in days are kept
      } else {
        expect(row.end).toBeNull();
      }
      offsets.set(row.client, offset);
    }
    expect(new Set(offsets.values()).size).toBeGreaterThan(1); // a per-client offset, not one for everybody
  });

  test('note dates shift with their client; note text is gone', async () => {
    const pseudonyms = createPseudonymizer(svc.deid.key);
    const real = new Map((await run(NOTES, true)).map((r) => [pseudonyms.hash(r.id), r]));
    expect([...real.values()].some((r) => typeof r.text === 'string' && r.text.length > 0)).toBe(true);
    const notes = await run(NOTES);
    expect(notes.length).toBeGreaterThan(0);
    for (const row of notes) {
      const original = real.get(row.id);
      expect(row.text).toBeNull();
      // An instant keeps T00:00:00 and its zone: compare calendar days.
      expect(Date.parse(dayOf(row.date)) - Date.parse(dayOf(original?.date))).toBe(pseudonyms.offsetDays(row.client, svc.deid.policy.dateShiftRangeDays) * DAY);
    }
  });

  test('Patients: birth year only, no MRN, name or phone', async () => {
    const pseudonyms = createPseudonymizer(svc.deid.key);
    const real = new Map((await run(PATIENTS, true)).map((r) => [pseudonyms.hash(r.id), r]));
    expect([...real.values()].every((r) => /^MRN-/.test(r.mrn) && r.family)).toBe(true);
    const patients = await run(PATIENTS);
    expect(patients).toHaveLength(real.size);
    for (const row of patients) {
      const original = real.get(row.id);
      expect(row.birth).toBe(original?.birth ? String(original.birth).slice(0, 4) : null);
      expect(row.mrn).toBe(pseudonyms.hash(original?.mrn));
      expect(row.family).toBeNull();
      expect(row.phone).toBeNull();
    }
  });

  test('the CodeableConcept texts the policy keeps are ConceptMap displays only, and are kept', async () => {
    const dir = join(projectRoot(), 'mappings', 'conceptmaps');
    const displays = new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')).group ?? []).flatMap((g: any) => (g.element ?? []).map((e: any) => e.display)))
    );
    const labels: [string, string][] = [
      ['Encounter', 'serviceType.text'],
      ['DocumentReference', 'type.text'],
      ['Consent', 'policyRule.text'],
      ['RelatedPerson', 'relationship.text'],
    ];
    for (const [type, path] of labels) {
      const labelView = { ...view(type, { id: 'getResourceKey()' }), select: [{ column: [{ name: 'id', path: 'getResourceKey()' }, { name: 'label', path, collection: true }] }] } as unknown as ViewDefinition;
      const real = await run(labelView, true);
      const values = real.flatMap((r) => r.label as string[]);
      expect([type, values.length > 0]).toStrictEqual([type, true]);
      expect(values.filter((v) => !displays.has(v))).toStrictEqual([]);
      const hash = createPseudonymizer(svc.deid.key).hash;
      const byId = new Map(real.map((r) => [hash(r.id), r.label]));
      for (const row of await run(labelView)) {
        expect(row.label).toStrictEqual(byId.get(row.id));
      }
    }
  });
});
