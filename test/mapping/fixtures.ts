/**
 * Shared inputs and helpers for the engine tests (and test/profiles): one record of each kind (the
 * examples of product.md), the deployment config, and helpers to map and collect problems. The
 * per-code expectations live in the golden cases, test/mapping-cases.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ConsentRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../../src/domain/records.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import {
  loadMappings,
  mapRecord,
  type MappingConfig,
  type MappingContext,
  type MappingResult,
  type MappingSet,
} from '../../src/mapping/index.js';
import { OperationOutcomeError, type Problem } from '../../src/outcomes.js';

export const NS = 'https://fhir.example-practice.org';
export const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.1';
export const config: MappingConfig = { ns: NS, mrnSystem: MRN_SYSTEM };

export const LOINC = 'http://loinc.org';

let set: MappingSet | undefined;

/** The project's mappings, loaded once per test file. */
export function mappings(): MappingSet {
  loadFhirDefinitions();
  set ??= loadMappings();
  return set;
}

export function participant(overrides: Partial<Participant> = {}): Participant {
  return {
    id: 'p-001',
    client: { mrn: 'MRN-1001' },
    name: { given: ['Maria'], family: 'Lopez' },
    relationship: 'mother',
    legalGuardian: true,
    organization: 'Lincoln Elementary',
    telecom: [{ system: 'phone', value: '+1-555-0100', use: 'mobile' }],
    language: 'es',
    involvement: { start: '2026-01-10', end: null },
    ...overrides,
  };
}

export function consent(overrides: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
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
    ...overrides,
  };
}

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
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
    amends: null,
    contentType: 'text/plain',
    text: 'Mother reports improved sleep ...',
    sensitivities: ['domestic-violence'],
    signedAt: '2026-02-01T17:10:00-05:00',
    ...overrides,
  };
}

/** Participants for a context, by id. */
export function byId(...ps: Participant[]): Record<string, Participant> {
  return Object.fromEntries(ps.map((p) => [p.id, p]));
}

export function map(kind: RecordKind, record: object, context: Partial<MappingContext> = {}): MappingResult {
  return mapRecord(mappings(), kind, record as never, { config, ...context });
}

/** The single resource a record maps to. */
export function mapOne<T extends Resource>(kind: RecordKind, record: object, context: Partial<MappingContext> = {}): T {
  const result = map(kind, record, context);
  expect(result.resources).toHaveLength(1);
  return result.resources[0].resource as T;
}

/** The problems (path and message) of a mapping that must fail with transformFailed. */
export function problemsOf(fn: () => unknown): Problem[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    const outcome = (err as OperationOutcomeError).outcome;
    expect(outcome.id).toBe('transform-failed');
    return (outcome.issue ?? []).map((i) => ({ path: i.expression?.[0] ?? '', message: i.details?.text ?? '' }));
  }
  throw new Error('expected the mapping to fail');
}

