/**
 * Load: what the entries of one claimed batch need from the store before anything is decided, in as
 * few reads as the data allows: their records (one read per kind), the records those depend on (one
 * read per kind and level, context.ts), and per entry what the disclosure gate decides on (the consent
 * gate: the client's consents and participants, two index lookups by client). What the plan needs
 * (ledger entries, states of dependencies, identities on the target) depends on what the mapping
 * produces, which depends on the gate's decision: it is read when the plan is made (plan-facts.ts).
 */
import type { MappingConfig } from '../mapping/index.js';
import type { OutboxEntry, Store, StoredRecord } from '../store/port.js';
import { loadRecordIndex, type RecordToMap, recordsToMap } from './context.js';
import type { DisclosureGate } from './gate.js';

/** One claimed entry, loaded: its record gone, or its records and gate facts, or why they could not be read (a hold: a dependency not received). */
export type LoadedEntry =
  | { entry: OutboxEntry; record: undefined }
  | { entry: OutboxEntry; record: StoredRecord; records: RecordToMap[]; gateFacts: unknown }
  | { entry: OutboxEntry; record: StoredRecord; error: unknown };

/**
 * Loads a claimed batch. The entry takes the version of the record read (a newer version than the one
 * enqueued goes now; the settlement names it).
 * @throws when the records themselves cannot be read (the slot fails; the leases expire and the entries are claimed again).
 */
export async function loadBatch(store: Pick<Store, 'records'>, gate: DisclosureGate, entries: OutboxEntry[], config: MappingConfig): Promise<LoadedEntry[]> {
  const byKind = new Map<string, string[]>();
  for (const e of entries) {
    byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e.recordId]);
  }
  const mains = new Map<string, StoredRecord>();
  for (const [kind, ids] of byKind) {
    for (const r of await store.records.getRecords(kind as StoredRecord['kind'], ids)) {
      mains.set(`${r.kind}/${r.id}`, r);
    }
  }
  const index = await loadRecordIndex(store, [...mains.values()]);
  return Promise.all(
    entries.map(async (claimed): Promise<LoadedEntry> => {
      const record = mains.get(`${claimed.kind}/${claimed.recordId}`);
      if (!record) {
        return { entry: claimed, record: undefined };
      }
      const entry = { ...claimed, recordVersion: record.version };
      try {
        const records = recordsToMap(record, index, config);
        const gateFacts = await gate.load({ main: record, records, target: entry.target });
        return { entry, record, records, gateFacts };
      } catch (error) {
        return { entry, record, error };
      }
    })
  );
}
