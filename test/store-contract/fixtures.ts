/** Records and ledger entries the store contract tests put. */
import type { Participant } from '../../src/domain/records.js';
import type { LedgerEntry, PutRecordInput } from '../../src/store/port.js';

export const participant = (id: string, mrn = 'MRN-1', family = 'Test'): Participant => ({ id, client: { mrn }, relationship: 'mother', name: { family } });

export const put = (record: Participant, extra: Partial<PutRecordInput> = {}): PutRecordInput => ({
  kind: 'participant',
  record,
  clientMrn: record.client.mrn,
  clientKey: record.client.mrn,
  targets: ['t1'],
  ...extra,
});

export const ledger = (identifier: string, over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  target: 't1',
  kind: 'participant',
  recordId: 'p-1',
  resourceType: 'RelatedPerson',
  identifier,
  resourceId: 'rp-1',
  versionId: '1',
  recordVersion: 1,
  mapping: 'm@1',
  contentHash: 'h',
  syncedAt: new Date().toISOString(),
  ...over,
});
