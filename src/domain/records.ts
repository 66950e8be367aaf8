/**
 * The v1 inbound contract (see docs/contract.md): the four kinds of record the practice's
 * system sends. Pure types, no I/O.
 */

export const RECORD_KINDS = ['participant', 'consent', 'session', 'note'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export function isRecordKind(value: unknown): value is RecordKind {
  return typeof value === 'string' && (RECORD_KINDS as readonly string[]).includes(value);
}

export interface ClientRef {
  mrn: string;
}

export interface ClinicianRef {
  npi: string;
}

export interface Period {
  start?: string | null;
  end?: string | null;
}

export interface Participant {
  id: string;
  client: ClientRef;
  name?: { given?: string[]; family?: string; text?: string };
  relationship: string;
  legalGuardian?: boolean;
  organization?: string | null;
  telecom?: { system: string; value: string; use?: string }[];
  language?: string | null;
  npi?: string | null;
  involvement?: Period | null;
}

export interface ConsentRecord {
  id: string;
  client: ClientRef;
  status: 'draft' | 'active' | 'revoked' | 'refused' | 'entered-in-error';
  recipients: string[];
  actions?: string[];
  purposes?: string[];
  dataClasses?: string[];
  excludedSensitivities?: string[];
  period?: Period | null;
  signedAt?: string | null;
  signedBy?: { participantId: string } | null;
  legalBasis?: 'hipaa-authorization' | '42-cfr-part-2' | 'state-law';
  form?: { contentType: string; title?: string; data: string } | null;
  revocation?: { at: string; reason?: string } | null;
}

export interface SessionRecord {
  id: string;
  client: ClientRef;
  therapist: ClinicianRef;
  type: 'collateral' | 'joint' | 'family';
  clientPresent?: boolean;
  participants: { participantId: string }[];
  modality: 'in-person' | 'video' | 'phone' | 'home-visit';
  status: 'planned' | 'completed' | 'cancelled' | 'entered-in-error';
  start: string;
  end?: string | null;
  purposes?: string[];
  consentIds?: string[];
  exception?: { basis: string; reason: string } | null;
}

export interface NoteRecord {
  id: string;
  sessionId: string;
  author: ClinicianRef;
  kind: 'session-summary' | 'progress-note' | 'psychotherapy-note';
  status: 'preliminary' | 'final' | 'amended' | 'entered-in-error';
  amends?: string | null;
  contentType: string;
  text: string;
  sensitivities?: string[];
  signedAt?: string | null;
}

export type AnyRecord = Participant | ConsentRecord | SessionRecord | NoteRecord;

/** The relationships that make a participant a clinician, mapped to Practitioner rather than RelatedPerson. */
export const CLINICIAN_RELATIONSHIPS = [
  'psychiatrist',
  'primary-care-physician',
  'social-worker',
  'other-healthcare-provider',
] as const;
