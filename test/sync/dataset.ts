/**
 * A synthetic dataset for the delivery proofs (profile suites, invariant test): per client a guardian
 * and a teacher covered by an active consent, sessions with them and notes, plus records that must
 * never reach the target: a psychotherapy note (blocked at intake) and a participant no consent names
 * (held by the consent gate). Fictitious people; consent periods around `now` so the gate permits.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../../src/domain/records.js';
import { MRN_SYSTEM, NPI_SYSTEM, NS } from './helpers.js';

export const THERAPIST_NPI = '1234567893';

export interface DatasetRecord {
  kind: RecordKind;
  record: { id: string } & Record<string, unknown>;
}

export interface Dataset {
  /** In the order the practice would send them (per client: participants, consent, sessions, notes). */
  records: DatasetRecord[];
  /** What the EHR holds already: one Patient per client (by MRN) and the therapist (by NPI). */
  seed: Resource[];
  /** Records the consent gate permits: each must end on the target exactly once (or not-writable there). */
  permitted: DatasetRecord[];
  /** Records that must never reach the target: psychotherapy notes and participants without consent. */
  forbidden: DatasetRecord[];
}

export interface DatasetOptions {
  clients: number;
  sessionsPerClient: number;
  now?: Date;
  /** Distinguishes the MRNs and ids of datasets sharing a target. */
  prefix?: string;
}

const day = (d: Date, offset: number): string => new Date(d.getTime() + offset * 86_400_000).toISOString().slice(0, 10);

export function buildDataset(o: DatasetOptions): Dataset {
  const now = o.now ?? new Date();
  const prefix = o.prefix ?? 'x';
  const records: DatasetRecord[] = [];
  const permitted: DatasetRecord[] = [];
  const forbidden: DatasetRecord[] = [];
  const seed: Resource[] = [{ resourceType: 'Practitioner', identifier: [{ system: NPI_SYSTEM, value: THERAPIST_NPI }], name: [{ family: 'Nguyen' }] } as Resource];
  const add = (r: DatasetRecord, ok: boolean): void => {
    records.push(r);
    (ok ? permitted : forbidden).push(r);
  };
  for (let c = 0; c < o.clients; c++) {
    const mrn = `MRN-${prefix}${c}`;
    const client = { mrn };
    seed.push({ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: mrn }], name: [{ family: `Client${c}` }] } as Resource);
    const guardian = `p-${prefix}${c}-guardian`;
    const teacher = `p-${prefix}${c}-teacher`;
    const uncovered = `p-${prefix}${c}-uncovered`;
    add({ kind: 'participant', record: { id: guardian, client, name: { given: ['Pat'], family: `Guardian${c}` }, relationship: 'mother', legalGuardian: true, involvement: { start: day(now, -60), end: null } } }, true);
    add({ kind: 'participant', record: { id: teacher, client, name: { given: ['Tom'], family: `Teacher${c}` }, relationship: 'teacher', organization: 'Lincoln Elementary' } }, true);
    add({ kind: 'participant', record: { id: uncovered, client, name: { given: ['Sam'], family: `Uncovered${c}` }, relationship: 'father', legalGuardian: false } }, false);
    const consentId = `c-${prefix}${c}`;
    add(
      {
        kind: 'consent',
        record: {
          id: consentId,
          client,
          status: 'active',
          recipients: [guardian, teacher],
          actions: ['disclose', 'collect'],
          purposes: ['treatment', 'care-coordination'],
          dataClasses: ['attendance', 'progress', 'session-summary'],
          period: { start: day(now, -30), end: day(now, 365) },
          signedAt: `${day(now, -30)}T15:00:00Z`,
          signedBy: { participantId: guardian },
          legalBasis: 'hipaa-authorization',
          revocation: null,
        },
      },
      true
    );
    for (let s = 0; s < o.sessionsPerClient; s++) {
      const sessionId = `s-${prefix}${c}-${s}`;
      const date = day(now, -20 + (s % 19));
      add(
        {
          kind: 'session',
          record: {
            id: sessionId,
            client,
            therapist: { npi: THERAPIST_NPI },
            type: 'collateral',
            clientPresent: false,
            participants: s % 2 === 0 ? [{ participantId: guardian }] : [{ participantId: guardian }, { participantId: teacher }],
            modality: 'video',
            status: 'completed',
            start: `${date}T16:00:00-05:00`,
            end: `${date}T16:50:00-05:00`,
            purposes: ['information-gathering'],
            consentIds: [consentId],
            exception: null,
          },
        },
        true
      );
      add(
        {
          kind: 'note',
          record: {
            id: `n-${prefix}${c}-${s}`,
            sessionId,
            author: { npi: THERAPIST_NPI },
            kind: 'session-summary',
            status: 'final',
            amends: null,
            contentType: 'text/plain',
            text: `Summary ${c}/${s}: guardian reports steady progress.`,
            sensitivities: [],
            signedAt: `${date}T17:10:00-05:00`,
          },
        },
        true
      );
    }
    add(
      {
        kind: 'note',
        record: {
          id: `n-${prefix}${c}-psy`,
          sessionId: `s-${prefix}${c}-0`,
          author: { npi: THERAPIST_NPI },
          kind: 'psychotherapy-note',
          status: 'final',
          contentType: 'text/plain',
          text: `PROCESS-NOTE-CANARY ${c}`,
          sensitivities: [],
          signedAt: `${day(now, -20)}T17:30:00-05:00`,
        },
      },
      false
    );
  }
  return { records, seed, permitted, forbidden };
}

/** The NDJSON body of POST /api/v1/import. */
export function toNdjson(records: DatasetRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n');
}

/** The identifier (system|value) each kind of record is written under (docs/fhir-mapping.md#identifier-systems). */
export function identifierOf(r: DatasetRecord): { type: string; system: string; value: string } {
  switch (r.kind) {
    case 'participant':
      return { type: 'RelatedPerson', system: `${NS}/sid/collateral-contact`, value: `${r.record.id}:${(r.record.client as { mrn: string }).mrn}` };
    case 'consent':
      return { type: 'Consent', system: `${NS}/sid/roi`, value: r.record.id };
    case 'session':
      return { type: 'Encounter', system: `${NS}/sid/session`, value: r.record.id };
    case 'note':
      return { type: 'DocumentReference', system: `${NS}/sid/note`, value: r.record.id };
  }
}
