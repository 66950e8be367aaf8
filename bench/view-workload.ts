/**
 * The workload of the view benchmarks (bench/views.ts, bench/view-stages.ts): Encounters shaped like
 * the session mapping's output. In a module of its own so that importing it runs no benchmark.
 */
import type { Resource } from '@medplum/fhirtypes';

const PURPOSES = ['information-gathering', 'psychoeducation', 'care-coordination', 'treatment-planning', 'progress-monitoring', 'crisis'];
const TYPES = [
  ['90887', '185318008', 'Collateral session, client absent', 'Collateral session'],
  ['90846', '185318008', 'Family session, client absent', 'Family session'],
  ['90847', '308335008', 'Joint session, client present', 'Joint session'],
];

/** An Encounter as the session mapping writes it, with resolved references (~2 KB of JSON). */
export function encounter(i: number): Resource {
  const [cpt, sct, text, service] = TYPES[i % 3];
  const day = 1 + (i % 28);
  const month = 1 + (Math.floor(i / 28) % 12);
  const start = `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T16:00:00-05:00`;
  return {
    resourceType: 'Encounter',
    id: `enc-${i}`,
    meta: {
      versionId: '1',
      lastUpdated: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      profile: ['https://fhir.example-practice.org/StructureDefinition/collateral-encounter'],
      security: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' },
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'BH', display: 'behavioral health information sensitivity' },
      ],
      tag: [{ system: 'https://fhir.example-practice.org/CodeSystem/mapping-version', code: 'session.v1@1.1.0' }],
    },
    identifier: [{ system: 'https://fhir.example-practice.org/sid/session', value: `s-${i}` }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: i % 2 ? 'VR' : 'AMB', display: i % 2 ? 'virtual' : 'ambulatory' },
    type: [
      { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: cpt }], text },
      { coding: [{ system: 'http://snomed.info/sct', code: sct, display: 'Third party encounter' }], text },
    ],
    serviceType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-type', code: '71', display: 'Family Counselling/Therapy' }], text: service },
    subject: { reference: `Patient/pat-${i % 10_000}` },
    participant: [
      {
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF', display: 'primary performer' }] }],
        individual: { reference: `Practitioner/prac-${i % 50}` },
      },
      ...Array.from({ length: 1 + (i % 3) }, (_, k) => ({
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PART', display: 'Participation' }] }],
        individual: { reference: `RelatedPerson/rp-${i % 10_000}-${k}` },
      })),
    ],
    period: { start, end: start.replace('T16:00', 'T16:50') },
    length: { value: 50, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
    reasonCode: [PURPOSES[i % 6], PURPOSES[(i + 1) % 6]].map((p) => ({
      coding: [{ system: 'https://fhir.example-practice.org/CodeSystem/collateral-purpose', code: p, display: p }],
      text: p,
    })),
  } as Resource;
}
