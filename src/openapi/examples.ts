/**
 * Examples shown in the OpenAPI description: the contract's example records (docs/contract.md) and answers
 * shaped like the real ones. test/openapi checks every example against the schema it illustrates.
 */
export const participant = {
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

export const consent = {
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
  form: { contentType: 'application/pdf', title: 'Release of information', data: 'JVBERi0xLjQK' },
  revocation: null,
};

export const session = {
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

export const note = {
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

export const RECORD_EXAMPLES = { participant, consent, session, note } as const;

export const inputInvalid = {
  resourceType: 'OperationOutcome',
  id: 'input-invalid',
  issue: [
    { severity: 'error', code: 'required', details: { text: "missing required field 'mrn'" }, expression: ['/client/mrn'] },
    { severity: 'error', code: 'value', details: { text: 'must be one of collateral, joint, family' }, expression: ['/type'] },
  ],
};

const syncedState = {
  target: 'embedded',
  state: 'synced',
  attempts: 1,
  updatedAt: '2026-02-01T22:11:02.120Z',
  resources: [{ resourceType: 'Encounter', id: '5f0c2a', versionId: '1', identifier: 'https://fhir.example-practice.org/sid/session|s-001', mapping: 'session.v1@1.0.0' }],
};

export const recordView = {
  kind: 'session',
  id: 's-001',
  version: 1,
  receivedAt: '2026-02-01T22:11:01.020Z',
  updatedAt: '2026-02-01T22:11:01.020Z',
  record: session,
  sync: [syncedState],
};

export const heldRecordView = {
  ...recordView,
  sync: [{ target: 'embedded', state: 'held', reason: 'no consent covers p-001 on 2026-02-01', reasonCode: 'no-consent', attempts: 2, nextAttemptAt: '2026-02-01T22:16:01.020Z', updatedAt: '2026-02-01T22:11:01.520Z' }],
};

export const writeView = { kind: 'session', id: 's-001', status: 'accepted', version: 1, sync: [{ target: 'embedded', state: 'pending', attempts: 0, updatedAt: '2026-02-01T22:11:01.020Z' }] };

export const importNdjson = `${JSON.stringify({ kind: 'participant', record: participant })}\n${JSON.stringify({ kind: 'session', record: session })}\n`;

export const importResult = {
  lines: 2,
  accepted: 1,
  unchanged: 0,
  rejected: 1,
  results: [
    { line: 1, kind: 'participant', id: 'p-001', status: 'accepted', version: 1 },
    { line: 2, status: 'rejected', outcome: inputInvalid },
  ],
};

export const syncStatus = {
  targets: { embedded: { synced: 40, held: 3, 'dead-letter': 1 }, local: { blocked: 1 } },
  outbox: 4,
  deadLetters: 1,
  delivery: { embedded: { queued: 3, deadLetters: 1, oldestPendingAt: '2026-02-01T22:01:00.000Z', oldestPendingAgeSeconds: 600, heldBy: { 'no-consent': 2, 'patient-not-found': 1 } } },
};

export const recordsPage = {
  count: 1,
  masked: true,
  records: [
    {
      kind: 'session',
      id: 's-001',
      target: 'embedded',
      state: 'held',
      reason: 'no consent covers p-001 on 2026-02-01',
      reasonCode: 'no-consent',
      attempts: 2,
      updatedAt: '2026-02-01T22:11:01.520Z',
      client: 'client-1a2b3c4d',
      recordVersion: 1,
      recordUpdatedAt: '2026-02-01T22:11:01.020Z',
    },
  ],
  next: 'WyIyMDI2LTAyLTAxVDIyOjExOjAxLjUyMFoiLDE3XQ',
};

export const replayFilter = { target: 'embedded', reason: 'upstream-422' };

export const remapRequest = { kind: 'participant', diff: true };

export const me = { name: 'local-admin', roles: ['admin'], identified: true };

export const readiness = {
  status: 'ready',
  checks: { store: { ok: true }, migrations: { ok: true }, intake: { ok: true }, target: { ok: true, readAt: '2026-02-01T22:00:00.000Z', fhirVersion: '4.0.1' } },
};
