/**
 * Writes the search index: the rows of a resource's search parameter values (search-extract.ts), kept
 * in step with every stored version, in the same transaction as the version itself.
 */
import type { Statement } from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirDatabase } from './database.js';
import type { ExtractionError, ParamEntries } from './search-extract.js';
import { MARKER_CLASS, extractEntries } from './search-extract.js';
import { VALUE_TABLES } from './search-schema.js';

/** Where the index reports a parameter it cannot evaluate (type and code only). */
export type BrokenParamReporter = (resourceType: string, code: string) => void;

/**
 * The search_param keys: one small integer per (resource type, code). They are all created up front, in
 * their own transaction (seed), so a key is never created inside a write that could roll back and leave
 * this cache pointing at a key SQLite then hands out again.
 */
export class ParamIds {
  private readonly db: FhirDatabase;
  private readonly ids = new Map<string, number>();
  private readonly insert: Statement<[string, string]>;
  private readonly select: Statement<[string, string], { pid: number; broken: number }>;
  private readonly markBroken: Statement<[number]>;

  constructor(db: FhirDatabase) {
    this.db = db;
    this.insert = db.prepare('INSERT OR IGNORE INTO search_param (resource_type, code) VALUES (?, ?)');
    this.select = db.prepare('SELECT pid, broken FROM search_param WHERE resource_type = ? AND code = ?');
    this.markBroken = db.prepare('UPDATE search_param SET broken = 1 WHERE pid = ?');
  }

  /**
   * Creates the keys of every (type, code) given that has none yet, commits, and loads all keys.
   * @param params - Resource type and code pairs.
   */
  seed(params: Iterable<[string, string]>): void {
    this.db.transaction(() => {
      for (const [type, code] of params) {
        this.insert.run(type, code);
      }
    }).immediate();
    const rows = this.db.prepare('SELECT pid, resource_type, code FROM search_param').all() as {
      pid: number;
      resource_type: string;
      code: string;
    }[];
    for (const row of rows) {
      this.ids.set(`${row.resource_type}\u0000${row.code}`, row.pid);
    }
  }

  /** @returns The key of a parameter; one missing from the seed is created (and not cached). */
  idFor(resourceType: string, code: string): number {
    const pid = this.ids.get(`${resourceType}\u0000${code}`);
    if (pid !== undefined) {
      return pid;
    }
    this.insert.run(resourceType, code);
    return (this.select.get(resourceType, code) as { pid: number }).pid;
  }

  /**
   * Reads a parameter's key and state from the database.
   * @returns The key and whether the parameter is marked broken; undefined when it has none.
   */
  lookup(resourceType: string, code: string): { pid: number; broken: boolean } | undefined {
    const row = this.select.get(resourceType, code);
    return row ? { pid: row.pid, broken: row.broken === 1 } : undefined;
  }

  /** Marks a parameter whose values could not be computed for some resource: its filters fall back. */
  setBroken(pid: number): void {
    this.markBroken.run(pid);
  }
}

/** Inserts and deletes index rows. Every method must run inside a write transaction. */
export class SearchIndexWriter {
  readonly params: ParamIds;
  private readonly onBroken?: BrokenParamReporter;
  private readonly upsertResource: Statement<[string, string, string], { rid: number }>;
  private readonly deleteResource: Statement<[string, string], { rid: number }>;
  private readonly clear: Statement<[number]>[];
  private readonly token: Statement<[number, number, string, string]>;
  private readonly reference: Statement<[number, number, string]>;
  private readonly date: Statement<[number, number, string, string, number]>;
  private readonly dateClass: Statement<[number, number]>;
  private readonly string: Statement<[number, number, string | null]>;

  constructor(db: FhirDatabase, onBroken?: BrokenParamReporter) {
    this.params = new ParamIds(db);
    this.onBroken = onBroken;
    this.upsertResource = db.prepare(
      `INSERT INTO search_resource (resource_type, id, last_updated) VALUES (?, ?, ?)
       ON CONFLICT (resource_type, id) DO UPDATE SET last_updated = excluded.last_updated RETURNING rid`
    );
    this.deleteResource = db.prepare('DELETE FROM search_resource WHERE resource_type = ? AND id = ? RETURNING rid');
    this.clear = VALUE_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE rid = ?`));
    this.token = db.prepare('INSERT INTO search_token (rid, pid, system, value) VALUES (?, ?, ?, ?)');
    this.reference = db.prepare('INSERT INTO search_reference (rid, pid, ref) VALUES (?, ?, ?)');
    this.date = db.prepare('INSERT INTO search_date (rid, pid, low, high, span) VALUES (?, ?, ?, ?, ?)');
    this.dateClass = db.prepare('INSERT OR IGNORE INTO search_date_class (pid, span) VALUES (?, ?)');
    this.string = db.prepare('INSERT INTO search_string (rid, pid, value) VALUES (?, ?, ?)');
  }

  /**
   * Replaces the index rows of a live resource version.
   * @param resource - The stored version (with id and meta.lastUpdated).
   * @param entries - Its entries, when the caller already extracted them.
   */
  index(resource: Resource, entries?: ParamEntries[]): void {
    const type = resource.resourceType;
    const rows = entries ?? extractEntries(resource, (err) => this.reportBroken(type, err));
    const rid = (this.upsertResource.get(type, resource.id as string, resource.meta?.lastUpdated ?? '') as { rid: number }).rid;
    this.clearRows(rid);
    for (const entry of rows) {
      const pid = this.params.idFor(type, entry.param.code);
      entry.tokens?.forEach((t) => this.token.run(rid, pid, t.system, t.value));
      entry.references?.forEach((ref) => this.reference.run(rid, pid, ref));
      entry.strings?.forEach((s) => this.string.run(rid, pid, s));
      for (const d of entry.dates ?? []) {
        this.date.run(rid, pid, d.low, d.high, d.span);
        if (d.span !== MARKER_CLASS) {
          // Not cached in memory: a rolled-back write would leave the cache claiming a class row that is gone.
          this.dateClass.run(pid, d.span);
        }
      }
    }
  }

  /** Removes a resource (deleted, or being re-indexed as deleted) from the index. */
  remove(resourceType: string, id: string): void {
    const row = this.deleteResource.get(resourceType, id);
    if (row) {
      this.clearRows(row.rid);
    }
  }

  private clearRows(rid: number): void {
    for (const statement of this.clear) {
      statement.run(rid);
    }
  }

  private reportBroken(resourceType: string, err: ExtractionError): void {
    this.params.setBroken(this.params.idFor(resourceType, err.code));
    this.onBroken?.(resourceType, err.code);
  }
}
