/**
 * Shared inputs and helpers for the engine tests (and test/profiles): one record of each kind (the
 * examples of the v1 contract, docs/contract.md), the deployment config, and helpers to map and collect problems. The
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
import {
  consentExampleWithForm,
  noteExample,
  participantExample,
  sessionExample,
} from '../helpers/product-examples.js';

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
  return { ...structuredClone(participantExample), ...overrides } as Participant;
}

/** The contract example consent, with real base64 form data in place of the placeholder. */
export function consent(overrides: Partial<ConsentRecord> = {}): ConsentRecord {
  return { ...structuredClone(consentExampleWithForm), ...overrides } as ConsentRecord;
}

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { ...structuredClone(sessionExample), ...overrides } as SessionRecord;
}

export function note(overrides: Partial<NoteRecord> = {}): NoteRecord {
  return { ...structuredClone(noteExample), ...overrides } as NoteRecord;
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

