/**
 * Contract records (fictitious) for the end-to-end consent tests, each test with its own client and ids,
 * and small waits on a record's state on the practice's target.
 */
import { THERAPIST_NPI } from '../../helpers/fixtures.js';
import { type TestService, waitFor } from '../../helpers/service.js';

export function mother(id: string, mrn: string): object {
  return { id, client: { mrn }, name: { given: ['Ana'], family: 'Example' }, relationship: 'mother', legalGuardian: true, involvement: { start: '2026-01-10', end: null } };
}

export function activeConsent(id: string, mrn: string, recipients: string[], overrides: object = {}): object {
  return {
    id,
    client: { mrn },
    status: 'active',
    recipients,
    actions: ['disclose', 'collect'],
    purposes: ['treatment'],
    dataClasses: ['attendance', 'session-summary'],
    excludedSensitivities: ['substance-use'],
    period: { start: '2026-01-10', end: '2030-12-31' },
    signedAt: '2026-01-10T15:00:00Z',
    legalBasis: 'hipaa-authorization',
    ...overrides,
  };
}

export function revoked(consent: object, at: string): object {
  return { ...consent, status: 'revoked', revocation: { at, reason: 'Client withdrew consent' } };
}

export function collateralSession(id: string, mrn: string, participantIds: string[], overrides: object = {}): object {
  return {
    id,
    client: { mrn },
    therapist: { npi: THERAPIST_NPI },
    type: 'collateral',
    clientPresent: false,
    participants: participantIds.map((participantId) => ({ participantId })),
    modality: 'video',
    status: 'completed',
    start: '2026-02-01T16:00:00-05:00',
    end: '2026-02-01T16:50:00-05:00',
    ...overrides,
  };
}

export function summaryNote(id: string, sessionId: string, text: string, overrides: object = {}): object {
  return {
    id,
    sessionId,
    author: { npi: THERAPIST_NPI },
    kind: 'session-summary',
    status: 'final',
    contentType: 'text/plain',
    text,
    sensitivities: [],
    signedAt: '2026-02-01T17:10:00-05:00',
    ...overrides,
  };
}

/** PUTs a record and checks it was accepted. */
export async function put(svc: TestService, collection: string, record: { id: string } | object): Promise<any> {
  const id = (record as { id: string }).id;
  const r = await svc.api('PUT', `/api/v1/${collection}/${id}`, record);
  if (r.status >= 300) {
    throw new Error(`PUT ${collection}/${id} answered ${r.status}: ${r.text}`);
  }
  return r.body;
}

/** The record's sync state on a target (undefined when it has none yet). */
export async function stateOn(svc: TestService, collection: string, id: string, target: string): Promise<any> {
  const r = await svc.api('GET', `/api/v1/${collection}/${id}`);
  return (r.body?.sync as any[] | undefined)?.find((s) => s.target === target);
}

/** Waits until the record's state on the target is `state` (and, if given, its reason matches). */
export async function waitState(svc: TestService, collection: string, id: string, target: string, state: string, reason?: RegExp): Promise<any> {
  return waitFor(
    async () => {
      const s = await stateOn(svc, collection, id, target);
      return s?.state === state && (!reason || reason.test(s.reason ?? '')) ? s : undefined;
    },
    20_000,
    `${collection}/${id} to be ${state}${reason ? ` (${reason})` : ''}`
  );
}
