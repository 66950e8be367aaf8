/**
 * The service's own copy of what it sent to an external target: the last version of every resource the
 * target confirmed, as the target confirmed it. Stored with the embedded FHIR server's own machinery
 * (its SQLite schema, repository and search index), one file per target under DATA_DIR/fhir-copy/, so
 * `/fhir` over the copy searches exactly as the embedded server does and views and exports read it with
 * the same EmbeddedStoreSource.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { openFhirDatabase, type FhirDatabase } from '../fhir-server/database.js';
import { SqliteFhirRepository } from '../fhir-server/sqlite-repository.js';
import type { SearchIndexLogger } from '../fhir-server/search-reindex.js';

/** Where the copy of one target lives: DATA_DIR/fhir-copy/<first 16 hex of sha256(target)>.sqlite. */
export function localCopyPath(dataDir: string, targetName: string): string {
  const key = createHash('sha256').update(targetName).digest('hex').slice(0, 16);
  return join(dataDir, 'fhir-copy', `${key}.sqlite`);
}

/** What the sync side needs: keep confirmed resources (idempotent; awaited before the outbox settles). */
export interface CopySink {
  keep(resources: WithId<Resource>[]): Promise<void>;
}

/** A resource the copy still has to read back from the target (reconcile.ts), at a version ('' = current). */
export interface PendingReadBack {
  resourceType: string;
  id: string;
  versionId: string;
}

/** Read-backs owed, kept durably beside the resources (same file) until the target answers them. */
const PENDING_SCHEMA = `CREATE TABLE IF NOT EXISTS copy_pending (
  resource_type TEXT NOT NULL,
  id            TEXT NOT NULL,
  version_id    TEXT NOT NULL,
  PRIMARY KEY (resource_type, id)
)`;

/** The copy of one target, open for writing (the sync) and reading (`/fhir`). */
export class LocalCopy implements CopySink {
  readonly repo: SqliteFhirRepository;
  private readonly db: FhirDatabase;

  /**
   * @param dbPath - The copy's SQLite file (created with its folder when missing; localCopyPath()).
   * @param targetName - The target it copies (its FHIR_BASE_URL), named in the read-only refusals.
   * @param logger - Re-index progress, as for the embedded server.
   */
  constructor(
    readonly dbPath: string,
    readonly targetName: string,
    logger?: SearchIndexLogger
  ) {
    this.db = openFhirDatabase(dbPath);
    this.db.exec(PENDING_SCHEMA);
    this.repo = new SqliteFhirRepository(this.db, { logger });
  }

  /**
   * Remembers read-backs owed (committed before the records settle, so a crash or an unreachable
   * target never loses one). The connection is the repository's: its transaction keeps them atomic.
   */
  async owe(items: PendingReadBack[]): Promise<void> {
    if (items.length === 0) {
      return;
    }
    await this.repo.withTransaction(async () => {
      const put = this.db.prepare<[string, string, string]>(
        `INSERT INTO copy_pending (resource_type, id, version_id) VALUES (?, ?, ?)
         ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id`
      );
      for (const i of items) {
        put.run(i.resourceType, i.id, i.versionId);
      }
    });
  }

  /** Read-backs still owed, oldest first, at most `limit`. */
  async owed(limit: number): Promise<PendingReadBack[]> {
    return this.repo.withTransaction(async () =>
      this.db
        .prepare<[number], PendingReadBack>('SELECT resource_type AS resourceType, id, version_id AS versionId FROM copy_pending ORDER BY rowid LIMIT ?')
        .all(limit)
    );
  }

  /** Keeps the resources read back and forgets those read-backs (one transaction: never one without the other). */
  async settleOwed(done: PendingReadBack[], resources: WithId<Resource>[]): Promise<void> {
    await this.repo.withTransaction(async () => {
      await this.keep(resources);
      const del = this.db.prepare<[string, string, string]>('DELETE FROM copy_pending WHERE resource_type = ? AND id = ? AND version_id = ?');
      for (const d of done) {
        del.run(d.resourceType, d.id, d.versionId);
      }
    });
  }

  /**
   * Upserts by type and id (the file is per target), in one transaction: a resource equal to the copy
   * changes nothing, and a version older than the one kept (an answer arriving late) never replaces it.
   * So a crash after the target confirmed and before the outbox settled only leads to a rewrite on retry.
   */
  async keep(resources: WithId<Resource>[]): Promise<void> {
    if (resources.length > 0) {
      await this.repo.storeAsIs(resources, newerThan);
    }
  }

  /** Closes the database; after the HTTP server and the sync stopped. */
  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}

/** The stored version is strictly newer than the incoming one (by the target's own lastUpdated). */
function newerThan(stored: Resource, incoming: Resource): boolean {
  const a = Date.parse(stored.meta?.lastUpdated ?? '');
  const b = Date.parse(incoming.meta?.lastUpdated ?? '');
  return !Number.isNaN(a) && !Number.isNaN(b) && a > b;
}
