/**
 * The ledger of the embedded store, opened read-only (verify-target): a second process may read the
 * SQLite file while the service runs (WAL readers never block the writer), and this connection can
 * neither migrate nor write, unlike SqliteStore, whose opening releases every lease.
 */
import Database from 'better-sqlite3';
import type { LedgerEntry } from '../types.js';
import { type LedgerRow, toLedger } from './rows.js';

export interface LedgerReader {
  /** Every ledger entry of a target (a bulk read, as LedgerStore.listLedger). */
  listLedger(target: string): Promise<LedgerEntry[]>;
  close(): Promise<void>;
}

/** Opens `path` read-only; throws when the file is missing or is not a store. */
export function openReadOnlyLedger(path: string): LedgerReader {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return {
    listLedger: async (target) =>
      (db.prepare('SELECT * FROM ledger WHERE target = ? ORDER BY resource_type, identifier').all(target) as LedgerRow[]).map(toLedger),
    close: async () => {
      db.close();
    },
  };
}
