/**
 * The data the console tests look at, sent through the real service: a client whose records are
 * synced (a mother, her consent, a session, a note), a session held because no consent covers its
 * teacher, and a participant that becomes a dead letter because the EHR already holds two resources
 * with our identifier (someone made a duplicate there); removing one and replaying makes it sync.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { type TestService, waitFor } from '../helpers/service.js';

export const OPERATOR_TOKEN = 'console-operator-token-0123456789';
export const PRIVACY_TOKEN = 'console-privacy-token-0123456789';
export const SOURCE_TOKEN = 'console-source-token-0123456789';

export const TEST_PRINCIPALS = new Map([
  [OPERATOR_TOKEN, { name: 'ops-desk', roles: ['operator' as const] }],
  [PRIVACY_TOKEN, { name: 'privacy-office', roles: ['privacy-officer' as const] }],
  [SOURCE_TOKEN, { name: 'integration', roles: ['source' as const] }],
]);

/**
 * An API_KEYS_FILE (issue #10) with the test principals' tokens (only their SHA-256 is stored), for the
 * service's environment: the console tests sign in with these roles.
 */
export function testKeysEnv(): Record<string, string> {
  const file = join(mkdtempSync(join(tmpdir(), 'collateral-console-keys-')), 'api-keys.json');
  const keys = [...TEST_PRINCIPALS].map(([token, p]) => ({ name: p.name, roles: p.roles, tokenSha256: createHash('sha256').update(token).digest('hex') }));
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return { API_KEYS_FILE: file };
}

/** Strings that must never reach an operator. */
export const PHI = ['Maria', 'Example', 'MRN-1001', 'Tomas', 'Teacherson', 'Dana', 'Duplicate', 'improved sleep', '+1-555-0100', 'Nora', 'Nowhere', 'MRN-4040'];

const NS = 'https://fhir.example-practice.org';
export const DUP_IDENTIFIER = { system: `${NS}/sid/collateral-contact`, value: 'p-dup:MRN-1001' };

export const mother = {
  id: 'p-tour-mother',
  client: { mrn: 'MRN-1001' },
  name: { given: ['Maria'], family: 'Example' },
  relationship: 'mother',
  legalGuardian: true,
  telecom: [{ system: 'phone', value: '+1-555-0100', use: 'mobile' }],
  involvement: { start: '2026-01-10', end: null },
};
const consent = {
  id: 'c-tour',
  client: { mrn: 'MRN-1001' },
  status: 'active',
  recipients: ['p-tour-mother'],
  actions: ['disclose'],
  purposes: ['treatment'],
  dataClasses: ['attendance', 'session-summary'],
  period: { start: '2026-01-10', end: '2099-12-31' },
  signedAt: '2026-01-10T15:00:00Z',
  signedBy: { participantId: 'p-tour-mother' },
  legalBasis: 'hipaa-authorization',
};
export const session = {
  id: 's-tour',
  client: { mrn: 'MRN-1001' },
  therapist: { npi: '1234567893' },
  type: 'collateral',
  clientPresent: false,
  participants: [{ participantId: 'p-tour-mother' }],
  modality: 'video',
  status: 'completed',
  start: '2026-02-01T16:00:00-05:00',
  end: '2026-02-01T16:50:00-05:00',
};
const note = {
  id: 'n-tour',
  sessionId: 's-tour',
  author: { npi: '1234567893' },
  kind: 'session-summary',
  status: 'final',
  contentType: 'text/plain',
  text: 'Mother reports improved sleep.',
  sensitivities: [],
  signedAt: '2026-02-01T17:10:00-05:00',
};
const teacher = { id: 'p-teacher', client: { mrn: 'MRN-1001' }, name: { given: ['Tomas'], family: 'Teacherson' }, relationship: 'teacher' };
const heldSession = { ...session, id: 's-held', participants: [{ participantId: 'p-teacher' }], start: '2026-02-08T16:00:00-05:00', end: '2026-02-08T16:50:00-05:00' };
// A client the EHR does not know (no Patient with this MRN): on the review list.
const unknown = { id: 'p-nowhere', client: { mrn: 'MRN-4040' }, name: { given: ['Nora'], family: 'Nowhere' }, relationship: 'sibling' };
const unknownConsent = { ...consent, id: 'c-nowhere', client: { mrn: 'MRN-4040' }, recipients: ['p-nowhere'], signedBy: null };
const dupConsent = { ...consent, id: 'c-dup', recipients: ['p-dup'] };
const dup = { id: 'p-dup', client: { mrn: 'MRN-1001' }, name: { given: ['Dana'], family: 'Duplicate' }, relationship: 'grandparent' };

async function ok(svc: TestService, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  const res = await svc.api(method, path, body, headers);
  if (res.status >= 300) {
    throw new Error(`${method} ${path} answered ${res.status}: ${res.text.slice(0, 500)}`);
  }
  return res.body;
}

export async function stateOf(svc: TestService, kind: string, id: string): Promise<string | undefined> {
  return (await svc.store.status.getSyncStates(kind as 'participant', id)).find((s) => s.target !== 'local')?.state;
}

/** Seeds the EHR and sends the records; resolves once each has reached its state. */
export async function seed(svc: TestService): Promise<{ duplicateIds: string[] }> {
  const fhir = { 'content-type': 'application/fhir+json' };
  await ok(svc, 'POST', '/fhir', readFileSync(join(projectRoot(), 'examples', 'fhir-seed.json'), 'utf8'), fhir);
  const patient = await ok(svc, 'GET', `/fhir/Patient?identifier=${encodeURIComponent('https://fhir.example-hospital.org/sid/mrn|MRN-1001')}`);
  const patientRef = `Patient/${patient.entry[0].resource.id}`;
  // The duplicate someone made in the EHR: two resources carrying our identifier.
  const duplicateIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const created = await ok(svc, 'POST', '/fhir/RelatedPerson', JSON.stringify({ resourceType: 'RelatedPerson', patient: { reference: patientRef }, identifier: [DUP_IDENTIFIER], active: true }), fhir);
    duplicateIds.push(created.id);
  }
  for (const [collection, body] of [
    ['participants', mother],
    ['participants', dup],
    ['consents', consent],
    ['consents', dupConsent],
    ['sessions', session],
    ['notes', note],
    ['participants', teacher],
    ['sessions', heldSession],
    ['participants', unknown],
    ['consents', unknownConsent],
  ] as const) {
    await ok(svc, 'PUT', `/api/v1/${collection}/${body.id}`, body);
  }
  await waitFor(
    async () =>
      (await stateOf(svc, 'note', 'n-tour')) === 'synced' &&
      (await stateOf(svc, 'session', 's-held')) === 'held' &&
      (await stateOf(svc, 'participant', 'p-dup')) === 'dead-letter' &&
      (await stateOf(svc, 'participant', 'p-nowhere')) === 'held',
    120_000,
    'the seeded records to settle'
  );
  return { duplicateIds };
}

/** Every PHI value of every stored record (names, MRNs, contact details, note text): none may reach an operator. */
export async function storedPhi(svc: TestService): Promise<string[]> {
  const out = new Set<string>(PHI);
  for (const r of await svc.store.records.listRecords({})) {
    const b = r.body as any;
    if (r.clientMrn) out.add(r.clientMrn);
    for (const v of [...(b.name?.given ?? []), b.name?.family, b.name?.text, ...(b.telecom ?? []).map((t: any) => t.value)]) {
      if (typeof v === 'string' && v.length >= 3) out.add(v);
    }
    if (r.kind === 'note' && typeof b.text === 'string') out.add(b.text.slice(0, 24));
  }
  return [...out];
}
