/**
 * The signed ROI form as a DocumentReference (SYNC_ROI_DOCUMENT): what is built from a consent record.
 */
import type { StoredRecord } from '../../src/store/port.js';
import { roiFormDocument } from '../../src/sync/roi-document.js';
import { MRN_SYSTEM, NS } from './helpers.js';

const consent = (form?: object): StoredRecord =>
  ({
    kind: 'consent',
    id: 'c-9',
    clientMrn: 'MRN-9',
    version: 1,
    hash: 'h',
    receivedAt: '',
    updatedAt: '',
    body: { id: 'c-9', client: { mrn: 'MRN-9' }, status: 'active', recipients: ['p-1'], signedAt: '2026-01-10T15:00:00Z', ...(form ? { form } : {}) },
  }) as StoredRecord;

test('a consent with its signed form becomes a DocumentReference LOINC 64292-6 keyed by the consent id', () => {
  const [m] = roiFormDocument({ record: consent({ contentType: 'application/pdf', title: 'ROI', data: 'JVBERi0=' }), context: { config: { ns: NS, mrnSystem: MRN_SYSTEM } } }, NS, MRN_SYSTEM);
  expect(m).toMatchObject({ key: { system: `${NS}/sid/roi-form`, value: 'c-9' }, write: 'upsert', sourceKind: 'consent', sourceId: 'c-9' });
  expect(m.resource).toMatchObject({
    resourceType: 'DocumentReference',
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ system: 'http://loinc.org', code: '64292-6' }] },
    subject: { reference: `Patient?identifier=${MRN_SYSTEM}|MRN-9` },
    date: '2026-01-10T15:00:00Z',
    content: [{ attachment: { contentType: 'application/pdf', data: 'JVBERi0=', title: 'ROI' } }],
    context: { related: [{ reference: `Consent?identifier=${NS}/sid/roi|c-9` }] },
  });
  expect((m.resource as any).content).toHaveLength(1); // Oracle takes one content only
});

test('a consent without a form, or another kind of record, adds nothing', () => {
  const ctx = { config: { ns: NS, mrnSystem: MRN_SYSTEM } };
  expect(roiFormDocument({ record: consent(), context: ctx }, NS, MRN_SYSTEM)).toEqual([]);
  expect(roiFormDocument({ record: { ...consent(), kind: 'participant' } as StoredRecord, context: ctx }, NS, MRN_SYSTEM)).toEqual([]);
});
