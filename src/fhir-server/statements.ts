/**
 * The prepared SQL of the SQLite repository, in one place so the table layout (see database.ts) is only
 * spelled out here.
 */
import type { Statement } from 'better-sqlite3';
import type { FhirDatabase } from './database.js';

/** A row of `resources` (the current version of one resource). */
export interface CurrentRow {
  version_id: number;
  last_updated: string;
  content: string;
  deleted: number;
}

/** A row of `resource_history` (one version; content is null for a deletion). */
export interface HistoryRow {
  version_id: number;
  last_updated: string;
  content: string | null;
  deleted: number;
}

/** One version to store. content undefined = a deletion. */
export interface VersionWrite {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  content?: string;
}

/** Typed wrappers around the repository's prepared statements. */
export class Statements {
  private readonly current: Statement<[string, string], CurrentRow>;
  private readonly upsert: Statement<[string, string, number, string, string]>;
  private readonly markDeleted: Statement<[number, string, string, string]>;
  private readonly insertHistory: Statement<[string, string, number, string, string | null, number]>;
  private readonly history: Statement<[string, string, number, number], HistoryRow>;
  private readonly historyCount: Statement<[string, string], { n: number }>;
  private readonly version: Statement<[string, string, number], HistoryRow>;

  /** @param db - An open connection whose schema exists. */
  constructor(db: FhirDatabase) {
    this.current = db.prepare(
      'SELECT version_id, last_updated, content, deleted FROM resources WHERE resource_type = ? AND id = ?'
    );
    this.upsert = db.prepare(
      `INSERT INTO resources (resource_type, id, version_id, last_updated, content, deleted) VALUES (?, ?, ?, ?, ?, 0)
       ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id,
         last_updated = excluded.last_updated, content = excluded.content, deleted = 0`
    );
    this.markDeleted = db.prepare(
      'UPDATE resources SET version_id = ?, last_updated = ?, deleted = 1 WHERE resource_type = ? AND id = ?'
    );
    this.insertHistory = db.prepare(
      `INSERT INTO resource_history (resource_type, id, version_id, last_updated, content, deleted)
       VALUES (?, ?, ?, ?, ?, ?)`
    );
    this.history = db.prepare(
      `SELECT version_id, last_updated, content, deleted FROM resource_history
       WHERE resource_type = ? AND id = ? ORDER BY version_id DESC LIMIT ? OFFSET ?`
    );
    this.historyCount = db.prepare(
      'SELECT COUNT(*) AS n FROM resource_history WHERE resource_type = ? AND id = ?'
    );
    this.version = db.prepare(
      `SELECT version_id, last_updated, content, deleted FROM resource_history
       WHERE resource_type = ? AND id = ? AND version_id = ?`
    );
  }

  /** @returns The current row of a resource, deleted or not. */
  getCurrent(resourceType: string, id: string): CurrentRow | undefined {
    return this.current.get(resourceType, id);
  }

  /** Stores one version: the current row and its history row (the search index is search-index.ts's). */
  writeVersion(v: VersionWrite): void {
    if (v.content === undefined) {
      this.markDeleted.run(v.versionId, v.lastUpdated, v.resourceType, v.id);
    } else {
      this.upsert.run(v.resourceType, v.id, v.versionId, v.lastUpdated, v.content);
    }
    this.insertHistory.run(v.resourceType, v.id, v.versionId, v.lastUpdated, v.content ?? null, v.content ? 0 : 1);
  }

  /** @returns A page of a resource's versions, newest first. */
  getHistory(resourceType: string, id: string, limit: number, offset: number): HistoryRow[] {
    return this.history.all(resourceType, id, limit, offset);
  }

  /** @returns How many versions a resource has. */
  countHistory(resourceType: string, id: string): number {
    return this.historyCount.get(resourceType, id)?.n ?? 0;
  }

  /** @returns One version of a resource. */
  getVersion(resourceType: string, id: string, versionId: number): HistoryRow | undefined {
    return this.version.get(resourceType, id, versionId);
  }
}
