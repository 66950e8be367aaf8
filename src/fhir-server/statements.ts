/**
 * The prepared SQL of the SQLite repository, in one place so the table layout (see database.ts) is only
 * spelled out here.
 */
import type { Statement } from 'better-sqlite3';
import type { FhirDatabase } from './database.js';
import type { IndexedToken, TokenQuery } from './search.js';

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
  tokens?: IndexedToken[];
}

/** Typed wrappers around the repository's prepared statements. */
export class Statements {
  private readonly current: Statement<[string, string], CurrentRow>;
  private readonly upsert: Statement<[string, string, number, string, string]>;
  private readonly markDeleted: Statement<[number, string, string, string]>;
  private readonly insertHistory: Statement<[string, string, number, string, string | null, number]>;
  private readonly deleteTokens: Statement<[string, string]>;
  private readonly insertToken: Statement<[string, string, string, string]>;
  private readonly history: Statement<[string, string, number, number], HistoryRow>;
  private readonly historyCount: Statement<[string, string], { n: number }>;
  private readonly version: Statement<[string, string, number], HistoryRow>;
  private readonly liveOfType: Statement<[string], { content: string }>;
  private readonly liveById: Statement<[string, string], { content: string }>;
  private readonly tokenBySystemValue: Statement<[string, string, string], { content: string }>;
  private readonly tokenByValue: Statement<[string, string], { content: string }>;
  private readonly tokenBySystem: Statement<[string, string], { content: string }>;

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
    this.deleteTokens = db.prepare('DELETE FROM resource_tokens WHERE resource_type = ? AND id = ?');
    this.insertToken = db.prepare('INSERT INTO resource_tokens (resource_type, id, system, value) VALUES (?, ?, ?, ?)');
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
    this.liveOfType = db.prepare('SELECT content FROM resources WHERE resource_type = ? AND deleted = 0');
    this.liveById = db.prepare('SELECT content FROM resources WHERE resource_type = ? AND id = ? AND deleted = 0');
    const viaTokens = `SELECT DISTINCT r.content FROM resource_tokens t
       JOIN resources r ON r.resource_type = t.resource_type AND r.id = t.id AND r.deleted = 0
       WHERE t.resource_type = ?`;
    this.tokenBySystemValue = db.prepare(`${viaTokens} AND t.system = ? AND t.value = ?`);
    this.tokenByValue = db.prepare(`${viaTokens} AND t.value = ?`);
    this.tokenBySystem = db.prepare(`${viaTokens} AND t.system = ?`);
  }

  /** @returns The current row of a resource, deleted or not. */
  getCurrent(resourceType: string, id: string): CurrentRow | undefined {
    return this.current.get(resourceType, id);
  }

  /** Stores one version: the current row, its history row and (for a live version) its tokens. */
  writeVersion(v: VersionWrite): void {
    if (v.content === undefined) {
      this.markDeleted.run(v.versionId, v.lastUpdated, v.resourceType, v.id);
    } else {
      this.upsert.run(v.resourceType, v.id, v.versionId, v.lastUpdated, v.content);
    }
    this.insertHistory.run(v.resourceType, v.id, v.versionId, v.lastUpdated, v.content ?? null, v.content ? 0 : 1);
    this.deleteTokens.run(v.resourceType, v.id);
    for (const token of v.tokens ?? []) {
      this.insertToken.run(v.resourceType, v.id, token.system, token.value);
    }
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

  /** @returns The JSON of every live resource of a type. */
  liveContents(resourceType: string): string[] {
    return this.liveOfType.all(resourceType).map((r) => r.content);
  }

  /** @returns The JSON of the live resources among `ids`. */
  liveContentsById(resourceType: string, ids: string[]): string[] {
    const out: string[] = [];
    for (const id of new Set(ids)) {
      const row = this.liveById.get(resourceType, id);
      if (row) {
        out.push(row.content);
      }
    }
    return out;
  }

  /** @returns The JSON of the live resources having any of the looked-up tokens (deduplicated). */
  liveContentsByTokens(resourceType: string, lookups: TokenQuery[]): string[] {
    const out = new Set<string>();
    for (const q of lookups) {
      let rows: { content: string }[];
      if (q.system !== undefined && q.value !== undefined) {
        rows = this.tokenBySystemValue.all(resourceType, q.system, q.value);
      } else if (q.value !== undefined) {
        rows = this.tokenByValue.all(resourceType, q.value);
      } else {
        rows = this.tokenBySystem.all(resourceType, q.system ?? '');
      }
      rows.forEach((r) => out.add(r.content));
    }
    return [...out];
  }
}
