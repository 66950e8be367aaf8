/**
 * Small builders of fictitious records for the consent tests: one client (MRN-1001), a mother who is
 * the legal guardian, a father who is not, a teacher and a psychiatrist, one consent and one session.
 */
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../../src/domain/records.js';

export const MRN = 'MRN-1001';

export const participants: Record<'mother' | 'father' | 'teacher' | 'psychiatrist', Participant> = {
  mother: { id: 'p-001', client: { mrn: MRN }, relationship: 'mother', legalGuardian: true },
  father: { id: 'p-002', client: { mrn: MRN }, relationship: 'father', legalGuardian: false },
  teacher: { id: 'p-003', client: { mrn: MRN }, relationship: 'teacher' },
  psychiatrist: { id: 'p-004', client: { mrn: MRN }, relationship: 'psychiatrist', npi: '1222222220' },
};

export const allParticipants: Participant[] = Object.values(participants);

export function consent(overrides: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
    id: 'c-001',
    client: { mrn: MRN },
    status: 'active',
    recipients: ['p-001'],
    actions: ['disclose', 'collect'],
    purposes: ['treatment'],
    dataClasses: ['attendance', 'progress', 'session-summary'],
    excludedSensitivities: ['substance-use'],
    period: { start: '2026-01-10', end: '2027-01-09' },
    signedAt: '2026-01-10T15:00:00Z',
    signedBy: { participantId: 'p-001' },
    legalBasis: 'hipaa-authorization',
    revocation: null,
    ...overrides,
  };
}

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 's-001',
    client: { mrn: MRN },
    therapist: { npi: '1234567893' },
    type: 'collateral',
    clientPresent: false,
    participants: [{ participantId: 'p-001' }],
    modality: 'video',
    status: 'completed',
    start: '2026-02-01T16:00:00-05:00',
    end: '2026-02-01T16:50:00-05:00',
    exception: null,
    ...overrides,
  };
}

export function note(overrides: Partial<NoteRecord> = {}): NoteRecord {
  return {
    id: 'n-001',
    sessionId: 's-001',
    author: { npi: '1234567893' },
    kind: 'session-summary',
    status: 'final',
    contentType: 'text/plain',
    text: 'Fictitious note text.',
    sensitivities: [],
    signedAt: '2026-02-01T17:10:00-05:00',
    ...overrides,
  };
}
