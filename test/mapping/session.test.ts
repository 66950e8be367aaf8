import type { Encounter } from '@medplum/fhirtypes';
import type { SessionRecord } from '../../src/domain/records.js';
import { ACTCODE, byId, codes, CONF, CPT, expectValid, map, mapOne, NS, participant, PATIENT_REF, problemsOf, SCT, session } from './fixtures.js';

const PARTTYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const mother = participant({ id: 'p-001', relationship: 'mother' });
const teacher = participant({ id: 'p-002', relationship: 'teacher' });
const psychiatrist = participant({ id: 'p-003', relationship: 'psychiatrist', npi: '1497758544' });
const context = { participants: byId(mother, teacher, psychiatrist) };

function mapSession(overrides: Partial<SessionRecord> = {}): Encounter {
  return mapOne<Encounter>('session', session(overrides), context);
}

describe('session.v1 -> Encounter', () => {
  test('the product.md example', () => {
    const [mapped] = map('session', session(), context).resources;
    expect(mapped).toMatchObject({ key: { system: `${NS}/sid/session`, value: 's-001' }, write: 'upsert', sourceKind: 'session' });
    const e = mapped.resource as Encounter;
    expect(e).toEqual({
      resourceType: 'Encounter',
      meta: {
        security: [
          { system: CONF, code: 'R', display: 'restricted' },
          { system: ACTCODE, code: 'BH', display: 'behavioral health information sensitivity' },
        ],
        tag: [{ system: `${NS}/CodeSystem/mapping-version`, code: 'session.v1@1.0.0' }],
      },
      identifier: [{ system: `${NS}/sid/session`, value: 's-001' }],
      status: 'finished',
      class: { system: ACTCODE, code: 'VR', display: 'virtual' },
      type: [
        { coding: [{ system: CPT, code: '90887' }], text: 'Collateral session, client absent' },
        { coding: [{ system: SCT, code: '185318008', display: 'Third party encounter' }], text: 'Collateral session, client absent' },
      ],
      serviceType: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-type', code: '71', display: 'Family Counselling/Therapy' }],
        text: 'Collateral session',
      },
      subject: { reference: PATIENT_REF },
      participant: [
        {
          type: [{ coding: [{ system: PARTTYPE, code: 'PPRF', display: 'primary performer' }] }],
          individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893' },
        },
        {
          type: [{ coding: [{ system: PARTTYPE, code: 'PART', display: 'Participation' }] }],
          individual: { reference: `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-001:MRN-1001` },
        },
      ],
      period: { start: '2026-02-01T16:00:00-05:00', end: '2026-02-01T16:50:00-05:00' },
      length: { value: 50, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
      reasonCode: [
        {
          coding: [{ system: `${NS}/CodeSystem/collateral-purpose`, code: 'information-gathering', display: 'Information gathering' }],
          text: 'Information gathering',
        },
        {
          coding: [{ system: `${NS}/CodeSystem/collateral-purpose`, code: 'psychoeducation', display: 'Psychoeducation' }],
          text: 'Psychoeducation',
        },
      ],
    });
    expectValid(e);
  });

  // type x clientPresent -> CPT and SNOMED CT (fhir-modeling.md 3.2); undefined: defaulted from the type.
  test.each([
    ['collateral', false, '90887', '185318008'],
    ['collateral', true, '90887', '308335008'],
    ['collateral', undefined, '90887', '185318008'],
    ['joint', true, '90847', '308335008'],
    ['joint', false, '90846', '185318008'],
    ['joint', undefined, '90847', '308335008'],
    ['family', true, '90847', '308335008'],
    ['family', false, '90846', '185318008'],
    ['family', undefined, '90847', '308335008'],
  ] as const)('%s, clientPresent %s -> CPT %s + SNOMED %s', (type, clientPresent, cpt, sct) => {
    const e = mapSession({ type, clientPresent });
    expect(e.type?.map((t) => codes(t))).toEqual([[`${CPT}|${cpt}`], [`${SCT}|${sct}`]]);
    expect(codes(e.serviceType)).toEqual(['http://terminology.hl7.org/CodeSystem/service-type|71']);
    expectValid(e);
  });

  test.each([
    ['in-person', 'AMB'],
    ['video', 'VR'],
    ['phone', 'VR'],
    ['home-visit', 'HH'],
  ] as const)('modality %s -> class %s', (modality, code) => {
    const e = mapSession({ modality });
    expect(e.class).toMatchObject({ system: ACTCODE, code });
    expectValid(e);
  });

  test.each([
    ['planned', 'planned'],
    ['completed', 'finished'],
    ['cancelled', 'cancelled'],
    ['entered-in-error', 'entered-in-error'],
  ] as const)('status %s -> %s', (status, expected) => {
    const e = mapSession({ status });
    expect(e.status).toBe(expected);
    expectValid(e);
  });

  test('every purpose has a collateral-purpose code', () => {
    const purposes = [
      'information-gathering',
      'psychoeducation',
      'care-coordination',
      'treatment-planning',
      'progress-monitoring',
      'crisis-support',
    ];
    const e = mapSession({ purposes });
    expect(e.reasonCode?.map((r) => r.coding?.[0].code)).toEqual([...purposes.slice(0, 5), 'crisis']);
    expectValid(e);
  });

  test('participants: family PART, teacher PART, clinician CON as Practitioner', () => {
    const e = mapSession({ participants: [{ participantId: 'p-001' }, { participantId: 'p-002' }, { participantId: 'p-003' }] });
    expect(e.participant?.slice(1).map((p) => [p.type?.[0].coding?.[0].code, p.individual?.reference])).toEqual([
      ['PART', `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-001:MRN-1001`],
      ['PART', `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-002:MRN-1001`],
      ['CON', `Practitioner?identifier=${NS}/sid/collateral-contact|p-003:MRN-1001`],
    ]);
    expectValid(e);
  });

  test('no end: no period.end and no length; no purposes: no reasonCode', () => {
    const e = mapSession({ end: null, purposes: undefined, status: 'planned' });
    expect(e.period).toEqual({ start: '2026-02-01T16:00:00-05:00' });
    expect(e.length).toBeUndefined();
    expect(e.reasonCode).toBeUndefined();
    expectValid(e);
  });

  test('length rounds to whole minutes across offsets', () => {
    expect(mapSession({ start: '2026-02-01T16:00:00-05:00', end: '2026-02-01T22:15:29+01:00' }).length?.value).toBe(15);
  });

  test('problems: unknown participant, unknown purpose, end before start — each with its path', () => {
    const problems = problemsOf(() =>
      map(
        'session',
        session({
          participants: [{ participantId: 'p-001' }, { participantId: 'p-404' }],
          purposes: ['psychoeducation', 'gossip'],
          end: '2026-02-01T15:00:00-05:00',
        }),
        context
      )
    );
    expect(problems).toEqual([
      { path: '/participants/1/participantId', message: expect.stringContaining('p-404') },
      { path: '/end', message: expect.stringContaining('before start') },
      { path: '/purposes/1', message: expect.stringContaining("'gossip'") },
    ]);
  });
});
