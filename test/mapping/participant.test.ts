import type { Practitioner, RelatedPerson } from '@medplum/fhirtypes';
import { CLINICIAN_RELATIONSHIPS } from '../../src/domain/records.js';
import { codes, config, expectValid, map, mapOne, NS, participant, PATIENT_REF, problemsOf, V2_0131, V3_ROLE } from './fixtures.js';

const ROLE = `${NS}/CodeSystem/collateral-role`;

// Every relationship of the v1 contract and the codes fhir-modeling.md 1.3 gives it.
const PERSONAL: [string, string][] = [
  ['mother', 'MTH'],
  ['father', 'FTH'],
  ['parent', 'PRN'],
  ['stepparent', 'STPPRN'],
  ['foster-parent', 'PRNFOST'],
  ['guardian', 'GUARD'],
  ['grandparent', 'GRPRN'],
  ['sibling', 'SIB'],
  ['child', 'CHILD'],
  ['spouse', 'SPS'],
  ['domestic-partner', 'DOMPART'],
  ['significant-other', 'SIGOTHR'],
  ['extended-family', 'EXT'],
  ['friend', 'FRND'],
  ['neighbor', 'NBOR'],
  ['roommate', 'ROOM'],
];
const FUNCTIONAL: [string, string][] = [
  ['teacher', 'O'],
  ['school-counselor', 'O'],
  ['coach', 'O'],
  ['employer', 'E'],
  ['caregiver', 'O'],
  ['clergy', 'O'],
  ['case-worker', 'O'],
  ['other', 'O'],
];
const NON_FAMILY = ['teacher', 'school-counselor', 'coach', 'employer', 'clergy', 'case-worker'];

describe('participant.v1 -> RelatedPerson', () => {
  test('the product.md example: identifier, patient, relationship + GUARD, name, telecom, language, period', () => {
    const result = map('participant', participant());
    expect(result).toMatchObject({ mappingId: 'participant.v1', mappingVersion: '1.0.0' });
    const [mapped] = result.resources;
    expect(mapped).toMatchObject({
      key: { system: `${NS}/sid/collateral-contact`, value: 'p-001:MRN-1001' },
      write: 'upsert',
      sourceKind: 'participant',
      sourceId: 'p-001',
    });
    expect(mapped.resource).toEqual({
      resourceType: 'RelatedPerson',
      meta: { tag: [{ system: `${NS}/CodeSystem/mapping-version`, code: 'participant.v1@1.0.0' }] },
      identifier: [{ system: `${NS}/sid/collateral-contact`, value: 'p-001:MRN-1001' }],
      active: true,
      patient: { reference: PATIENT_REF },
      relationship: [
        { coding: [{ system: V3_ROLE, code: 'MTH', display: 'mother' }], text: 'Mother' },
        { coding: [{ system: V3_ROLE, code: 'GUARD', display: 'guardian' }], text: 'Guardian' },
      ],
      name: [{ given: ['Maria'], family: 'Lopez' }],
      telecom: [{ system: 'phone', value: '+1-555-0100', use: 'mobile' }],
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] } }],
      period: { start: '2026-01-10' },
    });
    expectValid(mapped.resource);
  });

  test.each(PERSONAL)('%s -> RelatedPerson with v3 RoleCode %s', (relationship, code) => {
    const rp = mapOne<RelatedPerson>('participant', participant({ relationship, legalGuardian: false }));
    expect(rp.resourceType).toBe('RelatedPerson');
    expect(rp.relationship?.map((r) => codes(r))).toEqual([[`${V3_ROLE}|${code}`]]);
    expectValid(rp);
  });

  test.each(FUNCTIONAL)('%s -> RelatedPerson with v2-0131 %s and collateral-role', (relationship, v2) => {
    const rp = mapOne<RelatedPerson>('participant', participant({ relationship, legalGuardian: false }));
    expect(rp.resourceType).toBe('RelatedPerson');
    expect(rp.relationship).toHaveLength(1);
    expect(codes(rp.relationship)).toEqual([`${V2_0131}|${v2}`, `${ROLE}|${relationship}`]);
    expect(rp.relationship?.[0].text).toBeTruthy();
    expectValid(rp);
  });

  test('the collateral-role system follows the configured namespace', () => {
    const rp = mapOne<RelatedPerson>('participant', participant({ relationship: 'coach', legalGuardian: false }), {
      config: { ...config, ns: 'https://ehr.hospital.example' },
    });
    expect(codes(rp.relationship)).toContain('https://ehr.hospital.example/CodeSystem/collateral-role|coach');
    expect(rp.identifier?.[0].system).toBe('https://ehr.hospital.example/sid/collateral-contact');
  });

  test('a guardian who is also legalGuardian gets GUARD once', () => {
    const rp = mapOne<RelatedPerson>('participant', participant({ relationship: 'guardian', legalGuardian: true }));
    expect(codes(rp.relationship)).toEqual([`${V3_ROLE}|GUARD`]);
  });

  test('ended involvement: active false and period.end', () => {
    const rp = mapOne<RelatedPerson>('participant', participant({ involvement: { start: '2026-01-10', end: '2026-06-30' } }));
    expect(rp.active).toBe(false);
    expect(rp.period).toEqual({ start: '2026-01-10', end: '2026-06-30' });
    expectValid(rp);
  });

  test('minimal participant: no name parts, telecom, language or involvement are pruned away', () => {
    const rp = mapOne<RelatedPerson>('participant', {
      id: 'p-9',
      client: { mrn: 'MRN-1001' },
      relationship: 'friend',
    });
    expect(Object.keys(rp).sort()).toEqual(['active', 'identifier', 'meta', 'patient', 'relationship', 'resourceType']);
    expectValid(rp);
  });

  describe('minimum necessary: non-family contact details', () => {
    test.each(NON_FAMILY)('%s: telecom omitted by default, included when configured', (relationship) => {
      const record = participant({ relationship, legalGuardian: false });
      expect(mapOne<RelatedPerson>('participant', record).telecom).toBeUndefined();
      const opted = mapOne<RelatedPerson>('participant', record, { config: { ...config, includeNonFamilyContactDetails: true } });
      expect(opted.telecom).toEqual([{ system: 'phone', value: '+1-555-0100', use: 'mobile' }]);
    });

    test.each(['mother', 'caregiver', 'friend', 'other'])('%s: telecom kept', (relationship) => {
      expect(mapOne<RelatedPerson>('participant', participant({ relationship })).telecom).toHaveLength(1);
    });
  });

  test('an unknown relationship is a problem at /relationship', () => {
    const problems = problemsOf(() => map('participant', participant({ relationship: 'uncle-ish' })));
    expect(problems).toEqual([{ path: '/relationship', message: expect.stringContaining("'uncle-ish'") }]);
  });
});

describe('participant.v1 -> Practitioner (clinicians)', () => {
  test.each(CLINICIAN_RELATIONSHIPS.map((r) => [r]))('%s -> Practitioner, create-if-none-exist, NPI kept', (relationship) => {
    const [mapped] = map('participant', participant({ relationship, npi: '1497758544', legalGuardian: false })).resources;
    expect(mapped.write).toBe('create-if-none-exist');
    expect(mapped.key).toEqual({ system: `${NS}/sid/collateral-contact`, value: 'p-001:MRN-1001' });
    const pr = mapped.resource as Practitioner;
    expect(pr.resourceType).toBe('Practitioner');
    expect(pr.identifier).toEqual([
      { system: `${NS}/sid/collateral-contact`, value: 'p-001:MRN-1001' },
      { system: 'http://hl7.org/fhir/sid/us-npi', value: '1497758544' },
    ]);
    expect(pr.telecom).toHaveLength(1);
    expect(pr.communication).toEqual([{ coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] }]);
    expectValid(pr);
  });

  test('without an NPI only our identifier', () => {
    const pr = mapOne<Practitioner>('participant', participant({ relationship: 'psychiatrist', npi: null }));
    expect(pr.identifier).toEqual([{ system: `${NS}/sid/collateral-contact`, value: 'p-001:MRN-1001' }]);
    expectValid(pr);
  });
});
