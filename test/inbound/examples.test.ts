/**
 * The demo dataset (examples/): every import line passes the contract, the references between
 * records hold, the dataset covers what the demo needs, and the FHIR seed Bundle provides every
 * Patient (by MRN) and therapist Practitioner (by NPI) the records point at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { Bundle, Patient, Practitioner } from '@medplum/fhirtypes';
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../../src/domain/records.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { isValidNpi } from '../../src/inbound/npi.js';
import { parseImportLine, type ImportLine } from '../../src/inbound/validate.js';
import { OperationOutcomeError } from '../../src/outcomes.js';
import { projectRoot } from '../../src/paths.js';

const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

const text = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8');
const rawLines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
// Parse every line up front, keeping the problems of bad ones for the first test to show.
const lineProblems: string[] = [];
const lines: ImportLine[] = rawLines.flatMap((l, i) => {
  try {
    return [parseImportLine(l, i + 1)];
  } catch (err) {
    const issues = err instanceof OperationOutcomeError ? (err.outcome.issue ?? []) : [];
    lineProblems.push(...issues.map((x) => `${x.expression?.[0] ?? ''} ${x.details?.text ?? ''}`), ...(issues.length ? [] : [String(err)]));
    return [];
  }
});
const seed = JSON.parse(readFileSync(join(projectRoot(), 'examples', 'fhir-seed.json'), 'utf8')) as Bundle;

const ofKind = <T>(kind: ImportLine['kind']): T[] => lines.filter((l) => l.kind === kind).map((l) => l.record as T);
const participants = ofKind<Participant>('participant');
const consents = ofKind<ConsentRecord>('consent');
const sessions = ofKind<SessionRecord>('session');
const notes = ofKind<NoteRecord>('note');
const byId = <T extends { id: string }>(records: T[]): Map<string, T> => new Map(records.map((r) => [r.id, r]));
const participantById = byId(participants);
const consentById = byId(consents);
const sessionById = byId(sessions);

describe('examples/records.ndjson', () => {
  test('every line is a valid import line, with no blank lines', () => {
    expect(lineProblems).toEqual([]);
    expect(rawLines.every((l) => l.trim() !== '')).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(30);
    expect(lines.length).toBeLessThanOrEqual(45);
  });

  test('lines come in dependency order: participants, consents, sessions, notes', () => {
    const order = ['participant', 'consent', 'session', 'note'];
    const ranks = lines.map((l) => order.indexOf(l.kind));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  test('ids are unique within each kind', () => {
    for (const records of [participants, consents, sessions, notes]) {
      expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    }
  });

  test('consents name participants of their own client', () => {
    for (const c of consents) {
      for (const id of [...c.recipients, ...(c.signedBy ? [c.signedBy.participantId] : [])]) {
        expect(participantById.get(id)?.client.mrn).toBe(c.client.mrn);
      }
      if (c.signedBy) {
        expect(participantById.get(c.signedBy.participantId)?.legalGuardian).toBe(true);
      }
    }
  });

  test("sessions name their client's participants, and listed consents cover every participant", () => {
    for (const s of sessions) {
      for (const { participantId } of s.participants) {
        expect(participantById.get(participantId)?.client.mrn).toBe(s.client.mrn);
        if (s.consentIds) {
          const covering = s.consentIds.map((id) => consentById.get(id));
          expect(covering.every((c) => c?.client.mrn === s.client.mrn)).toBe(true);
          expect(covering.some((c) => c?.recipients.includes(participantId))).toBe(true);
        }
      }
    }
  });

  test('notes belong to a session, are written by its therapist, and amend only earlier notes', () => {
    const seen = new Set<string>();
    for (const n of notes) {
      const session = sessionById.get(n.sessionId);
      expect(session).toBeDefined();
      expect(n.author.npi).toBe(session?.therapist.npi);
      if (n.amends) {
        expect(seen.has(n.amends)).toBe(true);
      }
      seen.add(n.id);
    }
  });

  test('covers what the demo needs', () => {
    const relationships = new Set(participants.map((p) => p.relationship));
    for (const r of ['mother', 'father', 'grandparent', 'sibling', 'teacher', 'school-counselor', 'employer', 'psychiatrist', 'primary-care-physician']) {
      expect(relationships).toContain(r);
    }
    expect(relationships.has('spouse') || relationships.has('domestic-partner')).toBe(true);
    expect(participants.some((p) => p.relationship === 'mother' && p.legalGuardian === true)).toBe(true);
    expect(participants.some((p) => p.relationship === 'psychiatrist' && p.npi && isValidNpi(p.npi))).toBe(true);

    expect(consents.some((c) => c.status === 'revoked' && c.revocation)).toBe(true);
    expect(consents.some((c) => c.legalBasis === '42-cfr-part-2')).toBe(true);
    expect(consents.some((c) => c.excludedSensitivities?.includes('substance-use'))).toBe(true);
    expect(consents.some((c) => c.signedBy)).toBe(true);

    expect(new Set(sessions.map((s) => s.type))).toEqual(new Set(['collateral', 'joint', 'family']));
    expect(new Set(sessions.map((s) => s.modality))).toEqual(new Set(['in-person', 'video', 'phone', 'home-visit']));
    expect(sessions.filter((s) => s.status === 'cancelled')).toHaveLength(1);
    expect(sessions.filter((s) => s.status === 'completed').length).toBeGreaterThan(sessions.length / 2);
    expect(new Set(sessions.map((s) => s.clientPresent))).toEqual(new Set([true, false]));

    expect(notes.filter((n) => n.kind === 'psychotherapy-note')).toHaveLength(1);
    expect(notes.some((n) => n.kind === 'session-summary' && n.status === 'final')).toBe(true);
    expect(notes.some((n) => n.kind === 'progress-note' && n.status === 'final')).toBe(true);
    expect(notes.some((n) => n.amends)).toBe(true);
    const sensitivities = new Set(notes.flatMap((n) => n.sensitivities ?? []));
    expect(sensitivities).toContain('domestic-violence');
    expect(sensitivities).toContain('substance-use');
  });

  test('phone numbers are in the fictitious 555-01xx range', () => {
    const phones = participants.flatMap((p) => p.telecom ?? []).filter((t) => t.system === 'phone' || t.system === 'fax');
    expect(phones.length).toBeGreaterThan(0);
    expect(phones.every((t) => /^\+1-555-01\d\d$/.test(t.value))).toBe(true);
  });
});

describe('examples/fhir-seed.json', () => {
  const resources = (seed.entry ?? []).map((e) => e.resource);
  const patients = resources.filter((r): r is Patient => r?.resourceType === 'Patient');
  const practitioners = resources.filter((r): r is Practitioner => r?.resourceType === 'Practitioner');
  const mrns = new Set(patients.flatMap((p) => p.identifier ?? []).filter((i) => i.system === MRN_SYSTEM).map((i) => i.value));
  const npis = new Set(practitioners.flatMap((p) => p.identifier ?? []).filter((i) => i.system === NPI_SYSTEM).map((i) => i.value));

  test('is a valid FHIR R4 transaction Bundle', () => {
    loadFhirDefinitions();
    expect(seed.type).toBe('transaction');
    expect(() => validateResource(seed)).not.toThrow();
    resources.forEach((r) => expect(() => validateResource(r!)).not.toThrow());
  });

  test('creates conditionally, so it can be run again without duplicates', () => {
    for (const entry of seed.entry ?? []) {
      const identifier = (entry.resource as Patient | Practitioner).identifier?.[0];
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(entry.request).toEqual({
        method: 'POST',
        url: entry.resource?.resourceType,
        ifNoneExist: `identifier=${identifier?.system}|${identifier?.value}`,
      });
    }
  });

  test('MRNs carry the v2-0203 MR type; NPIs are valid', () => {
    for (const p of patients) {
      const mrn = p.identifier?.find((i) => i.system === MRN_SYSTEM);
      expect(mrn?.type?.coding).toContainEqual(
        expect.objectContaining({ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' })
      );
    }
    expect([...npis].every(isValidNpi)).toBe(true);
  });

  test('has a Patient for every client and a Practitioner for every therapist the records reference', () => {
    const clientMrns = new Set([...participants, ...consents, ...sessions].map((r) => r.client.mrn));
    const therapistNpis = new Set([...sessions.map((s) => s.therapist.npi), ...notes.map((n) => n.author.npi)]);
    expect([...clientMrns].filter((m) => !mrns.has(m))).toEqual([]);
    expect([...therapistNpis].filter((n) => !npis.has(n))).toEqual([]);
    expect(patients.length).toBeGreaterThanOrEqual(3);
    expect(practitioners).toHaveLength(2);
  });
});
