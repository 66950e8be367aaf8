/**
 * What the API says back about a record: its stored form and its sync state on each target, with the
 * FHIR resources (ids and versions) it became there.
 */
import type { RecordKind } from '../domain/records.js';
import type { LedgerEntry, PutRecordResult, Store, StoredRecord, SyncState } from '../store/port.js';

/** The store slices a record's view reads. */
export type ViewStore = Pick<Store, 'status' | 'ledger'>;

export interface SyncView extends Omit<SyncState, 'kind' | 'recordId'> {
  resources?: { resourceType: string; id: string; versionId: string; identifier: string; mapping: string }[];
}

function resources(ledger: LedgerEntry[]): SyncView['resources'] {
  return ledger.map((l) => ({
    resourceType: l.resourceType,
    id: l.resourceId,
    versionId: l.versionId,
    identifier: l.identifier,
    mapping: l.mapping,
  }));
}

/** Sync state of a record on every target it is known on. */
export async function syncView(store: ViewStore, kind: RecordKind, id: string): Promise<SyncView[]> {
  const states = await store.status.getSyncStates(kind, id);
  return Promise.all(
    states.map(async ({ kind: _k, recordId: _r, ...s }) => {
      if (s.state !== 'synced' && s.target === 'local') {
        return s;
      }
      const ledger = await store.ledger.getLedgerForRecord(s.target, kind, id);
      return ledger.length > 0 ? { ...s, resources: resources(ledger) } : s;
    })
  );
}

/** The GET body of a record. */
export async function recordView(store: ViewStore, rec: StoredRecord): Promise<object> {
  return {
    kind: rec.kind,
    id: rec.id,
    version: rec.version,
    receivedAt: rec.receivedAt,
    updatedAt: rec.updatedAt,
    record: rec.body,
    sync: await syncView(store, rec.kind, rec.id),
  };
}

/** The answer to a write. */
export async function writeView(store: ViewStore, result: PutRecordResult): Promise<object> {
  const { record } = result;
  return {
    kind: record.kind,
    id: record.id,
    status: result.changed ? 'accepted' : 'unchanged',
    version: record.version,
    // A create's states are the ones just written with it (no earlier version, no resources yet).
    sync: result.createdStates ? result.createdStates.map(({ kind: _k, recordId: _r, ...s }) => s) : await syncView(store, record.kind, record.id),
  };
}
