/**
 * What each method does, the order of rules (first match wins, ancestors included), dynamic paths, and
 * failing closed: unknown elements, `_primitive` siblings, malformed values and types outside the policy.
 */
import { createHmac } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { createDeidentifier } from '../../src/deid/index.js';
import { KEY, policyFrom } from './helpers.js';

const hmac = (v: string): string => createHmac('sha256', KEY).update(v).digest('hex');
const NOW = new Date('2026-06-15T12:00:00Z');

const patient = (extra: Record<string, unknown> = {}): Resource =>
  ({
    resourceType: 'Patient',
    id: 'pat-1',
    name: [{ use: 'official', family: 'Thistlewood', given: ['Lily'] }],
    telecom: [
      { system: 'phone', value: '+1-555-0101', use: 'home' },
      { system: 'email', value: 'lily@example.org', use: 'work' },
    ],
    birthDate: '2017-09-14',
    gender: 'female',
    ...extra,
  }) as Resource;

function run(rules: any[], resource: Resource, extra: Record<string, unknown> = {}): any {
  const deidentify = createDeidentifier(policyFrom({ fhirPathRules: rules, ...extra }), KEY, { now: () => NOW });
  return deidentify(resource);
}

describe('methods', () => {
  test('redact removes the element; objects and arrays left empty go too', () => {
    const out = run([{ path: "nodesByType('HumanName')", method: 'redact' }], patient());
    expect(out.name).toBeUndefined();
    expect(out.gender).toBe('female');
  });

  test('keep protects an element from later rules; an element no rule governs stays', () => {
    const out = run(
      [
        { path: "nodesByType('HumanName').use", method: 'keep' },
        { path: "nodesByType('HumanName')", method: 'redact' },
      ],
      patient()
    );
    expect(out.name).toEqual([{ use: 'official' }]);
    expect(out.telecom).toHaveLength(2); // no rule: unchanged
  });

  test('the earliest rule wins, whether it selects the element or an ancestor', () => {
    const out = run(
      [
        { path: 'Patient.name', method: 'keep' },
        { path: "nodesByType('HumanName').family", method: 'redact' },
      ],
      patient()
    );
    expect(out.name[0].family).toBe('Thistlewood'); // the ancestor's keep came first
  });

  test('cryptoHash: HMAC-SHA-256 hex; a reference hashes its id like the target id', () => {
    const rp = {
      resourceType: 'RelatedPerson',
      id: 'rp-1',
      patient: { reference: 'Patient/pat-1', display: 'Lily' },
      identifier: [{ system: 'urn:x', value: 'p-1001-mother' }],
    } as Resource;
    const policy = [
      { path: 'Resource.id', method: 'cryptoHash' },
      { path: "nodesByType('Reference').reference", method: 'cryptoHash' },
      { path: "nodesByType('Identifier').value", method: 'cryptoHash' },
      { path: "nodesByType('Reference').display", method: 'redact' },
    ];
    const out = run(policy, rp);
    const pat = run(policy, patient());
    expect(out.id).toBe(hmac('rp-1'));
    expect(out.patient).toEqual({ reference: `Patient/${hmac('pat-1')}` });
    expect(out.patient.reference).toBe(`Patient/${pat.id}`);
    expect(out.identifier).toEqual([{ system: 'urn:x', value: hmac('p-1001-mother') }]);
  });

  test('cryptoHash on references: absolute, versioned, tokens and local references', () => {
    const enc = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: 'https://ehr.example.org/fhir/Patient/pat-1' },
      basedOn: [{ reference: 'ServiceRequest/sr-1/_history/3' }, { reference: '#contained-1' }],
    } as Resource;
    const out = run([{ path: "nodesByType('Reference').reference", method: 'cryptoHash' }], enc);
    expect(out.subject.reference).toBe(`Patient/${hmac('pat-1')}`);
    expect(out.basedOn).toEqual([{ reference: `ServiceRequest/${hmac('sr-1')}/_history/3` }, { reference: '#contained-1' }]);
    const consent = { resourceType: 'Consent', status: 'active', scope: {}, category: [], policy: [{ uri: 'https://x.org/sid/roi|c-1' }] } as unknown as Resource;
    expect(run([{ path: 'Consent.policy.uri', method: 'cryptoHash' }], consent).policy).toEqual([{ uri: `https://x.org/sid/roi|${hmac('c-1')}` }]);
  });

  test('dateShift: whole days, time of day dropped, an instant stays an instant, partial dates keep the year', () => {
    const enc = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      period: { start: '2026-02-01T16:00:00-05:00', end: '2026-02-01T16:50:00-05:00' },
      meta: { lastUpdated: '2026-02-02T10:11:12.345Z' },
      statusHistory: [{ status: 'planned', period: { start: '2026-02', end: '2026' } }],
    } as Resource;
    const out = run([{ path: "nodesByType('dateTime') | nodesByType('instant')", method: 'dateShift' }], enc);
    const shift = (Date.parse(out.period.start) - Date.parse('2026-02-01')) / 86_400_000;
    expect(Number.isInteger(shift)).toBe(true);
    expect(shift).not.toBe(0);
    expect(Math.abs(shift)).toBeLessThanOrEqual(50);
    expect(out.period.end).toBe(out.period.start);
    expect(out.meta.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
    expect((Date.parse(out.meta.lastUpdated) - Date.parse('2026-02-02T00:00:00Z')) / 86_400_000).toBe(shift);
    expect(out.statusHistory[0].period).toEqual({ start: '2026', end: '2026' });
  });

  test('generalize: dates to year or month, numbers to the lower bound of their range; ages over 89 removed', () => {
    const dates = run(
      [
        { path: 'Patient.birthDate', method: 'generalize', to: 'year', redactAgeOver: 89 },
        { path: 'Patient.deceased.ofType(dateTime)', method: 'generalize', to: 'month' },
      ],
      patient({ deceasedDateTime: '2026-03-04T05:06:07Z' })
    );
    expect(dates.birthDate).toBe('2017');
    expect(dates.deceasedDateTime).toBe('2026-03');
    const old = run([{ path: 'Patient.birthDate', method: 'generalize', to: 'year', redactAgeOver: 89 }], patient({ birthDate: '1936-06-14' }));
    expect(old.birthDate).toBeUndefined(); // 90 on 2026-06-15
    const justUnder = run([{ path: 'Patient.birthDate', method: 'generalize', to: 'year', redactAgeOver: 89 }], patient({ birthDate: '1936-06-16' }));
    expect(justUnder.birthDate).toBe('1936'); // 89 until tomorrow
    const ranges = [{ path: 'Patient.multipleBirth.ofType(integer)', method: 'generalize', ranges: [1, 2, 4] }];
    expect(run(ranges, patient({ multipleBirthInteger: 3 })).multipleBirthInteger).toBe(2);
    expect(run(ranges, patient({ multipleBirthInteger: 9 })).multipleBirthInteger).toBe(4);
    expect(run(ranges, patient({ multipleBirthInteger: 0 })).multipleBirthInteger).toBeUndefined();
  });

  test('substitute replaces a primitive or a whole complex element', () => {
    const out = run(
      [
        { path: 'Patient.gender', method: 'substitute', replaceWith: 'unknown' },
        { path: 'Patient.name', method: 'substitute', replaceWith: { text: 'REDACTED' } },
      ],
      patient()
    );
    expect(out.gender).toBe('unknown');
    expect(out.name).toEqual([{ text: 'REDACTED' }]);
  });

  test('dynamic paths: where() conditions decide per element', () => {
    const out = run([{ path: "nodesByType('ContactPoint').where(use = 'home')", method: 'redact' }], patient());
    expect(out.telecom).toEqual([{ system: 'email', value: 'lily@example.org', use: 'work' }]);
    const first = run([{ path: 'Patient.telecom.first().value', method: 'redact' }], patient());
    expect(first.telecom).toEqual([{ system: 'phone', use: 'home' }, { system: 'email', value: 'lily@example.org', use: 'work' }]);
  });

  test('a misfit method fails closed: dateShift or cryptoHash on the wrong type removes the value', () => {
    const out = run(
      [
        { path: "nodesByName('active')", method: 'cryptoHash' },
        { path: "nodesByName('gender')", method: 'dateShift' },
      ],
      patient({ active: true })
    );
    expect(out.active).toBeUndefined();
    expect(out.gender).toBeUndefined();
  });

  test('unknown keys, _primitive siblings and malformed values are removed, the input is never changed', () => {
    const input = patient({ secretField: 'Lily T.', _birthDate: { extension: [{ url: 'x', valueString: 'Lily' }] }, gender: { text: 'Lily' } });
    const before = JSON.stringify(input);
    const out = run([{ path: 'Patient.id', method: 'keep' }], input);
    expect(out.secretField).toBeUndefined();
    expect(out._birthDate).toBeUndefined();
    expect(out.gender).toBeUndefined();
    expect(out.birthDate).toBe('2017-09-14');
    expect(JSON.stringify(input)).toBe(before);
  });

  test('types outside the policy are left out', () => {
    const deidentify = createDeidentifier(policyFrom({ resourceTypes: ['Patient'], fhirPathRules: [{ path: 'Patient.name', method: 'redact' }] }), KEY);
    expect(deidentify({ resourceType: 'Organization', name: 'Maplecrest Elementary' } as Resource)).toBeUndefined();
    expect(deidentify(patient())).toMatchObject({ resourceType: 'Patient', gender: 'female' });
  });
});
