/**
 * The four example records of the v1 contract (docs/contract.md), verbatim: the one copy every test suite starts from.
 * Verbatim includes the consent's placeholder `"<base64>"` form data, which is not base64.
 */
export const participantExample = {
  id: 'p-001',
  client: { mrn: 'MRN-1001' },
  name: { given: ['Maria'], family: 'Lopez' },
  relationship: 'mother',
  legalGuardian: true,
  organization: 'Lincoln Elementary',
  telecom: [{ system: 'phone', value: '+1-555-0100', use: 'mobile' }],
  language: 'es',
  involvement: { start: '2026-01-10', end: null },
};

/** Verbatim, including the placeholder `"<base64>"` form data, which is not base64 (see consent tests). */
export const consentExample = {
  id: 'c-001',
  client: { mrn: 'MRN-1001' },
  status: 'active',
  recipients: ['p-001'],
  actions: ['disclose', 'collect'],
  purposes: ['treatment', 'care-coordination'],
  dataClasses: ['attendance', 'progress', 'session-summary'],
  excludedSensitivities: ['substance-use'],
  period: { start: '2026-01-10', end: '2027-01-09' },
  signedAt: '2026-01-10T15:00:00Z',
  signedBy: { participantId: 'p-002' },
  legalBasis: 'hipaa-authorization',
  form: { contentType: 'application/pdf', title: 'Release of information', data: '<base64>' },
  revocation: null,
};

/** The consent example with real base64 ("%PDF-1.4\n") in place of the placeholder. */
export const consentExampleWithForm = {
  ...consentExample,
  form: { ...consentExample.form, data: 'JVBERi0xLjQK' },
};

export const sessionExample = {
  id: 's-001',
  client: { mrn: 'MRN-1001' },
  therapist: { npi: '1234567893' },
  type: 'collateral',
  clientPresent: false,
  participants: [{ participantId: 'p-001' }],
  modality: 'video',
  status: 'completed',
  start: '2026-02-01T16:00:00-05:00',
  end: '2026-02-01T16:50:00-05:00',
  purposes: ['information-gathering', 'psychoeducation'],
  consentIds: ['c-001'],
  exception: null,
};

export const noteExample = {
  id: 'n-001',
  sessionId: 's-001',
  author: { npi: '1234567893' },
  kind: 'session-summary',
  status: 'final',
  amends: null,
  contentType: 'text/plain',
  text: 'Mother reports improved sleep ...',
  sensitivities: ['domestic-violence'],
  signedAt: '2026-02-01T17:10:00-05:00',
};
