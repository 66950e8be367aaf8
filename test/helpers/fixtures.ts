/**
 * Synthetic records that follow the v1 contract (docs/contract.md) exactly (fictitious people), and the FHIR Patients and
 * Practitioners the target must hold for them to sync.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { sessionExample } from './product-examples.js';

export const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';
export const NS = 'https://fhir.example-practice.org';
export const THERAPIST_NPI = '1234567893';

export const records = {
  participant: {
    id: 'p-001',
    client: { mrn: 'MRN-1001' },
    name: { given: ['Maria'], family: 'Lopez' },
    relationship: 'mother',
    legalGuardian: true,
    telecom: [{ system: 'phone', value: '+1-555-0100', use: 'mobile' }],
    language: 'es',
    involvement: { start: '2026-01-10', end: null },
  },
  teacher: {
    id: 'p-002',
    client: { mrn: 'MRN-1001' },
    name: { given: ['Tom'], family: 'Reed' },
    relationship: 'teacher',
    organization: 'Lincoln Elementary',
    telecom: [{ system: 'email', value: 'reed@example.org' }],
  },
  consent: {
    id: 'c-001',
    client: { mrn: 'MRN-1001' },
    status: 'active',
    recipients: ['p-001'],
    actions: ['disclose', 'collect'],
    purposes: ['treatment', 'care-coordination'],
    dataClasses: ['attendance', 'progress', 'session-summary'],
    excludedSensitivities: ['substance-use'],
    // Far end: the consent gate checks coverage at the real moment of sending, so an end near today
    // would make these end-to-end tests fail on a later date.
    period: { start: '2026-01-10', end: '2099-12-31' },
    signedAt: '2026-01-10T15:00:00Z',
    signedBy: { participantId: 'p-001' },
    legalBasis: 'hipaa-authorization',
    revocation: null,
  },
  session: sessionExample,
  note: {
    id: 'n-001',
    sessionId: 's-001',
    author: { npi: THERAPIST_NPI },
    kind: 'session-summary',
    status: 'final',
    amends: null,
    contentType: 'text/plain',
    text: 'Mother reports improved sleep and fewer conflicts at home.',
    sensitivities: ['domestic-violence'],
    signedAt: '2026-02-01T17:10:00-05:00',
  },
} as const;

/** Patients and the therapist on the target, created idempotently. */
export const seedBundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: MRN_SYSTEM, value: 'MRN-1001' }],
        name: [{ family: 'Lopez', given: ['Ana'] }],
      },
      request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${MRN_SYSTEM}|MRN-1001` },
    },
    {
      resource: {
        resourceType: 'Practitioner',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: THERAPIST_NPI }],
        name: [{ family: 'Nguyen', given: ['Lee'] }],
      },
      request: { method: 'POST', url: 'Practitioner', ifNoneExist: `identifier=http://hl7.org/fhir/sid/us-npi|${THERAPIST_NPI}` },
    },
  ],
};
