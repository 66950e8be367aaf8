/**
 * The client tally of identified output (src/analytics/client-tally.ts) on each way our resources name
 * a client: a Patient's own MRN, a Patient reference by id, a conditional reference by MRN (as the
 * mappings write them), a reference by identifier, the sync's AuditEvent client entity; references to
 * other Patients' systems, to non-Patients, and resources outside any compartment add nothing. One key
 * per client however many resources name it.
 */
import type { Resource } from '@medplum/fhirtypes';
import { CompartmentTally } from '../../src/analytics/client-tally.js';

const MRN = 'https://fhir.example-hospital.org/sid/mrn';

const tallyOf = (...resources: object[]): CompartmentTally => {
  const t = new CompartmentTally(MRN);
  resources.forEach((r) => t.add(r as Resource));
  return t;
};

describe('CompartmentTally', () => {
  test.each([
    ['before', true],
    ['after', false],
  ])('a Patient with our MRN is counted by MRN, and references to it by id (%s it) are not counted again', (_when, patientFirst) => {
    const patient = { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'urn:other', value: 'X' }, { system: MRN, value: 'MRN-1' }] };
    const encounter = { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } };
    const t = patientFirst ? tallyOf(patient, encounter) : tallyOf(encounter, patient);
    expect([...t.mrns]).toStrictEqual(['MRN-1']);
    expect([...t.patientIds]).toStrictEqual([]);
    expect(t.size).toBe(1);
  });

  test('references by id (relative, absolute, versioned) are one key per Patient', () => {
    const t = tallyOf(
      { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p2' } },
      { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'https://ehr.example/fhir/Patient/p2/_history/3' } },
      { resourceType: 'RelatedPerson', patient: { reference: 'Patient/p3' } },
      { resourceType: 'DocumentReference', status: 'current', content: [], subject: { reference: 'Patient/p3' } }
    );
    expect([...t.patientIds].sort()).toStrictEqual(['p2', 'p3']);
    expect(t.size).toBe(2);
  });

  test('a conditional reference or a reference by identifier in our MRN system is counted by MRN; other systems are not', () => {
    const t = tallyOf(
      { resourceType: 'Consent', status: 'active', scope: {}, category: [], patient: { reference: `Patient?identifier=${MRN}|MRN-4` } },
      { resourceType: 'Consent', status: 'active', scope: {}, category: [], patient: { reference: `Patient?identifier=${encodeURIComponent(`${MRN}|MRN-5`)}` } },
      { resourceType: 'RelatedPerson', patient: { identifier: { system: MRN, value: 'MRN-6' } } },
      { resourceType: 'RelatedPerson', patient: { reference: 'Patient?identifier=urn:other|MRN-7' } }
    );
    expect([...t.mrns].sort()).toStrictEqual(['MRN-4', 'MRN-5', 'MRN-6']);
    expect(t.patientIds.size).toBe(0);
  });

  test("the sync's AuditEvents name the client by MRN identifier: counted; the target and written resources are not clients", () => {
    const t = tallyOf({
      resourceType: 'AuditEvent',
      type: { code: 'rest' },
      recorded: '2026-01-01T00:00:00Z',
      agent: [{ requestor: true, who: { display: 'collateral-fhir' } }],
      source: { observer: { display: 'collateral-fhir' } },
      entity: [
        { what: { identifier: { system: MRN, value: 'MRN-8' } }, role: { code: '1' } },
        { what: { reference: 'Encounter/e1/_history/1' }, role: { code: '4' } },
      ],
    });
    expect([...t.mrns]).toStrictEqual(['MRN-8']);
    expect(t.size).toBe(1);
  });

  test('resources outside any Patient compartment, and references to non-Patients, add nothing', () => {
    const t = tallyOf(
      { resourceType: 'Practitioner', id: 'pr1' },
      { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Group/g1' } }
    );
    expect(t.size).toBe(0);
  });
});
