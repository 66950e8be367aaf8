/**
 * Opens the store the configuration names: PostgreSQL when DATABASE_URL is set (several instances share
 * it; docs/postgres.md), else the embedded SQLite store in DATA_DIR. Used by the service and the CLI
 * commands that work on the store, so both always open the same one.
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Store } from './port.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** The embedded store's file in a data folder. */
export function sqliteStorePath(dataDir: string): string {
  return join(dataDir, 'collateral.sqlite');
}

/**
 * @param options.instanceId - the name on leases and import jobs (the service's INSTANCE_ID); a CLI
 *   command leaves it out and gets a name of its own, so it never takes over a running instance's leases.
 */
export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'storeCommitSync'>>,
  options: { instanceId?: string } = {}
): Promise<Store> {
  return config.databaseUrl
    ? PostgresStore.open({ connectionString: config.databaseUrl, ...(options.instanceId ? { instanceId: options.instanceId } : {}) })
    : new SqliteStore(sqliteStorePath(config.dataDir), config.storeCommitSync);
}
