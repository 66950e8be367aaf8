/**
 * fast-check arbitraries for the search-index tests: resources of four types whose values are drawn
 * from small pools (so queries hit, collide in case, share substrings and dates), and query strings of
 * many shapes over them (every parameter kind the index holds, prefixes, modifiers, alternatives,
 * windows, sorting, paging).
 */
import fc from 'fast-check';
import type { DocumentReference, Encounter, Patient, Provenance, Resource } from '@medplum/fhirtypes';

export const PATIENT_IDS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
export const ENCOUNTER_IDS = ['e1', 'e2', 'e3', 'e4'];
const SYSTEMS = ['http://a.example/ids', 'HTTP://A.example/IDS', 'urn:oid:1.2.3'];
const VALUES = ['x1', 'X1', 'abc', 'ABC-9', 'n-100', 'zz'];
const FAMILIES = ['Smith', 'smithson', 'Müller', 'Ng', 'de la Cruz', 'SMITH', 'José'];
const GIVENS = ['Ann', 'anna', 'Zoë', 'Bo', 'Jose'];
const CITIES = ['Springfield', 'Lyon', 'São Paulo'];
const TAG_SYSTEMS = ['https://collateral.example/tags', 'urn:t'];
const TAG_CODES = ['k1', 'K1', 'k2', 'other'];
const PROFILES = ['http://example.org/StructureDefinition/a', 'http://example.org/StructureDefinition/a-extended', 'http://other.org/p'];
const LOINC = ['11488-4', '34117-2', '18842-5'];
const DISPLAYS = ['Consult note', 'History and physical', 'Discharge summary'];

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });
const some = <T>(arb: fc.Arbitrary<T>, max = 2): fc.Arbitrary<T[] | undefined> =>
  fc.array(arb, { maxLength: max }).map((a) => (a.length ? a : undefined));

// Few distinct dates, so stored bounds and query bounds often meet exactly (the edges of each prefix).
const year = fc.integer({ min: 2019, max: 2020 });
const month = pick(['01', '06']);
const day = pick(['01', '15']);
const hour = pick(['00', '12']);
const zone = pick(['Z', '+02:00']);

/** FHIR date: YYYY, YYYY-MM or YYYY-MM-DD. */
export const fhirDate = fc.oneof(
  year.map(String),
  fc.tuple(year, month).map(([y, m]) => `${y}-${m}`),
  fc.tuple(year, month, day).map(([y, m, d]) => `${y}-${m}-${d}`)
);
/** FHIR instant (seconds, sometimes milliseconds, a zone): bounds then meet filter bounds exactly. */
export const instant = fc
  .tuple(year, month, day, hour, pick(['', '.000']), zone)
  .map(([y, m, d, h, ms, z]) => `${y}-${m}-${d}T${h}:30:00${ms}${z}`);
/** FHIR dateTime: a date or an instant. */
export const dateTime = fc.oneof(fhirDate, instant);

const identifier = fc.record({ system: maybe(pick(SYSTEMS)), value: maybe(pick(VALUES)), use: maybe(pick(['usual', 'official'] as const)) });
const tag = fc.record({ system: maybe(pick(TAG_SYSTEMS)), code: pick(TAG_CODES) });
const meta = fc.record({ tag: some(tag), profile: some(pick(PROFILES), 1) }).map((m) => (m.tag || m.profile ? m : undefined));
const patientRef = pick(PATIENT_IDS).map((id) => ({ reference: `Patient/${id}` }));
const coding = fc.record({ system: maybe(pick(['http://loinc.org'])), code: pick(LOINC), display: maybe(pick(DISPLAYS)) });
const period = fc.oneof(
  fc.record({ start: dateTime }),
  fc.record({ end: dateTime }),
  fc.tuple(dateTime, dateTime).map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a }))
);

const patient: fc.Arbitrary<Patient> = fc.record({
  resourceType: fc.constant('Patient' as const),
  meta,
  identifier: some(identifier),
  name: some(fc.record({ family: maybe(pick(FAMILIES)), given: some(pick(GIVENS)) })),
  gender: maybe(pick(['female', 'male', 'other'] as const)),
  active: maybe(fc.boolean()),
  birthDate: maybe(fhirDate),
  address: some(fc.record({ city: pick(CITIES) }), 1),
  telecom: some(fc.record({ system: pick(['phone', 'email'] as const), value: pick(['555-1234', 'A@Example.org']) }), 1),
});

const encounter: fc.Arbitrary<Encounter> = fc.record({
  resourceType: fc.constant('Encounter' as const),
  meta,
  identifier: some(identifier),
  status: pick(['planned', 'finished', 'cancelled'] as const),
  class: fc.constant({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }),
  subject: maybe(patientRef),
  period: maybe(period),
  type: some(fc.record({ coding: some(coding, 2), text: maybe(pick(['Visit', 'Group session'])) }), 1),
});

const documentReference: fc.Arbitrary<DocumentReference> = fc.record({
  resourceType: fc.constant('DocumentReference' as const),
  meta,
  identifier: some(identifier),
  status: pick(['current', 'superseded'] as const),
  subject: maybe(patientRef),
  date: maybe(instant),
  description: maybe(pick(['Session note for Smith', 'Intake summary', 'note'])),
  type: maybe(fc.record({ coding: some(coding, 2) })),
  content: fc.constant([{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=' } }]),
  context: maybe(
    fc.record({
      encounter: some(pick(ENCOUNTER_IDS).map((id) => ({ reference: `Encounter/${id}` })), 2),
      period: maybe(period),
    })
  ),
});

const provenance: fc.Arbitrary<Provenance> = fc.record({
  resourceType: fc.constant('Provenance' as const),
  meta,
  target: fc.array(
    fc.oneof(
      patientRef,
      pick(ENCOUNTER_IDS).map((id) => ({ reference: `Encounter/${id}/_history/${(id.length % 3) + 1}` }))
    ),
    { minLength: 1, maxLength: 3 }
  ),
  recorded: instant,
  agent: fc.constant([{ who: { reference: 'Practitioner/pr1' } }]),
});

/** A resource of one of the four types, without removing undefined keys (the caller strips them). */
export const anyResource: fc.Arbitrary<Resource> = fc.oneof(patient, encounter, documentReference, provenance);

/** Removes undefined values and the objects and arrays left empty (FHIR JSON must carry neither). */
export function clean<T>(value: T): T {
  return prune(JSON.parse(JSON.stringify(value))) as T;
}

function prune(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(prune).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, prune(v)] as const).filter(([, v]) => v !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value;
}

const mixCase = (s: string): fc.Arbitrary<string> => fc.constantFrom(s, s.toUpperCase(), s.toLowerCase());
const substring = (values: string[]): fc.Arbitrary<string> =>
  fc.tuple(pick(values), fc.nat(), fc.integer({ min: 1, max: 6 })).chain(([v, start, len]) => {
    const from = start % v.length;
    return mixCase(v.slice(from, from + len));
  });
const enc = encodeURIComponent;

const tokenQuery = fc.oneof(
  fc.tuple(pick(SYSTEMS), pick(VALUES)).chain(([s, v]) => mixCase(`${s}|${v}`)),
  pick(VALUES).chain(mixCase),
  pick(VALUES).map((v) => `|${v}`),
  pick(SYSTEMS).map((s) => `${s}|`),
  fc.constantFrom('', '|', 'nope')
);
const tagQuery = fc.oneof(fc.tuple(pick(TAG_SYSTEMS), pick(TAG_CODES)).map(([s, c]) => `${s}|${c}`), pick(TAG_CODES), pick(TAG_CODES).map((c) => `|${c}`));
const refQuery = fc.oneof(
  patientRef.map((r) => r.reference),
  pick(PATIENT_IDS),
  pick(ENCOUNTER_IDS).map((id) => `Encounter/${id}`),
  pick(ENCOUNTER_IDS),
  fc.constant('Encounter/e1/_history/2')
);
const datePrefix = pick(['', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb', 'ap']);
const dateQuery = fc.tuple(datePrefix, dateTime).map(([p, d]) => `${p}${d}`);
const window = fc.tuple(pick(['ge', 'gt']), fhirDate, pick(['lt', 'le']), fhirDate);

/** Builds a value list with comma alternatives (the matcher ORs them). */
const alternatives = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.array(arb, { minLength: 1, maxLength: 2 }).map((vs) => vs.map(enc).join(','));

const missing = (codes: string[]): fc.Arbitrary<string> =>
  fc.tuple(pick(codes), fc.boolean()).map(([c, b]) => `${c}:missing=${b}`);

/** Filters per type, as query-string fragments. */
const FILTERS: Record<string, fc.Arbitrary<string>> = {
  Patient: fc.oneof(
    alternatives(tokenQuery).map((v) => `identifier=${v}`),
    alternatives(tokenQuery).map((v) => `identifier:not=${v}`),
    alternatives(tagQuery).map((v) => `_tag=${v}`),
    pick(['female', 'male', 'FEMALE']).map((v) => `gender=${v}`),
    pick(['true', 'false']).map((v) => `active=${v}`),
    pick(['true', 'false']).map((v) => `active:not=${v}`),
    alternatives(substring(FAMILIES)).map((v) => `family=${v}`),
    alternatives(substring([...FAMILIES, ...GIVENS])).map((v) => `name=${v}`),
    substring(FAMILIES).map((v) => `name:exact=${enc(v)}`),
    substring(GIVENS).map((v) => `given:contains=${enc(v)}`),
    substring(CITIES).map((v) => `address-city=${enc(v)}`),
    substring(FAMILIES).map((v) => `family:not=${enc(v)}`),
    dateQuery.map((v) => `birthdate=${enc(v)}`),
    window.map(([a, x, b, y]) => `birthdate=${a}${x}&birthdate=${b}${y}`),
    alternatives(substring(PROFILES)).map((v) => `_profile=${v}`),
    pick(['555', 'a@example.org']).map((v) => `telecom=${enc(v)}`),
    missing(['identifier', 'family', 'birthdate', '_tag', '_profile', 'telecom', 'gender'])
  ),
  Encounter: fc.oneof(
    alternatives(tokenQuery).map((v) => `identifier=${v}`),
    pick(['finished', 'planned', 'cancelled']).map((v) => `status=${v}`),
    pick(['finished', 'planned']).map((v) => `status:not=${v}`),
    alternatives(refQuery).map((v) => `subject=${v}`),
    alternatives(refQuery).map((v) => `patient=${v}`),
    refQuery.map((v) => `subject:not=${enc(v)}`),
    dateQuery.map((v) => `date=${enc(v)}`),
    window.map(([a, x, b, y]) => `date=${a}${x}&date=${b}${y}`),
    fc.oneof(pick(LOINC), pick(DISPLAYS), fc.constant('http://loinc.org|11488-4'), pick(['Visit', 'visit'])).map((v) => `type=${enc(v)}`),
    alternatives(tagQuery).map((v) => `_tag=${v}`),
    missing(['subject', 'date', 'type', 'identifier'])
  ),
  DocumentReference: fc.oneof(
    alternatives(tokenQuery).map((v) => `identifier=${v}`),
    alternatives(refQuery).map((v) => `patient=${v}`),
    alternatives(refQuery).map((v) => `subject=${v}`),
    alternatives(refQuery).map((v) => `encounter=${v}`),
    dateQuery.map((v) => `date=${enc(v)}`),
    dateQuery.map((v) => `period=${enc(v)}`),
    window.map(([a, x, b, y]) => `date=${a}${x}&date=${b}${y}`),
    window.map(([a, x, b, y]) => `period=${a}${x}&period=${b}${y}`),
    alternatives(substring(['Session note for Smith', 'Intake summary'])).map((v) => `description=${v}`),
    alternatives(tagQuery).map((v) => `_tag=${v}`),
    alternatives(substring(PROFILES)).map((v) => `_profile=${v}`),
    pick(['current', 'superseded']).map((v) => `status=${v}`),
    fc.oneof(pick(LOINC), fc.constant('http://loinc.org|34117-2'), pick(DISPLAYS)).map((v) => `type=${enc(v)}`),
    dateQuery.map((v) => `_lastUpdated=${enc(v)}`),
    missing(['patient', 'date', 'period', 'description', 'encounter', '_profile'])
  ),
  Provenance: fc.oneof(
    alternatives(tagQuery).map((v) => `_tag=${v}`),
    alternatives(refQuery).map((v) => `target=${v}`),
    alternatives(refQuery).map((v) => `patient=${v}`),
    dateQuery.map((v) => `recorded=${enc(v)}`),
    window.map(([a, x, b, y]) => `recorded=${a}${x}&recorded=${b}${y}`),
    missing(['_tag', 'target'])
  ),
};

const SORTS: Record<string, string[]> = {
  Patient: ['_lastUpdated', '-_lastUpdated', 'family', '-family', 'birthdate', '-birthdate', 'identifier', '_id', 'gender,-birthdate'],
  Encounter: ['-_lastUpdated', 'date', '-date', 'subject', 'status,-date', '-_id'],
  DocumentReference: ['-_lastUpdated', 'date', '-date', 'description', '-period', 'patient'],
  Provenance: ['-_lastUpdated', 'recorded', '-recorded', 'target'],
};

/** A search of one type: type, query string (without `?`). */
export const searchQuery: fc.Arbitrary<{ type: string; query: string }> = pick(Object.keys(FILTERS)).chain((type) =>
  fc
    .record({
      filters: fc.array(FILTERS[type], { maxLength: 3 }),
      sort: maybe(pick(SORTS[type])),
      count: maybe(fc.integer({ min: 0, max: 7 })),
      offset: maybe(fc.integer({ min: 0, max: 6 })),
    })
    .map(({ filters, sort, count, offset }) => {
      const parts = [...filters];
      if (sort) {
        parts.push(`_sort=${sort}`);
      }
      parts.push(`_count=${count ?? 1000}`);
      if (offset) {
        parts.push(`_offset=${offset}`);
      }
      return { type, query: parts.join('&') };
    })
);
