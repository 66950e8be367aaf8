/**
 * The service's own AuditEvents as a ResourceSource: the local accounting of disclosures, one AuditEvent
 * per write to a target (src/audit/events.ts), kept in `DATA_DIR/collateral.sqlite` (table `audit`)
 * whatever the target accepted. They are "resources this service holds" too: the `disclosures` view and
 * `$export` of `AuditEvent` read them here, through a read-only connection of their own, in keyset pages
 * by rowid (memory bounded by one page; the service's writes are never blocked, SQLite WAL).
 *
 * `_since` compares `recorded` (an AuditEvent has no meta.lastUpdated; it never changes once written).
 * `patient` matches nothing: our AuditEvents name the client by MRN identifier, not by a Patient
 * reference, so they are in no Patient compartment (docs/analytics.md, known gaps).
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceSource, StreamOptions } from './source.js';

const PAGE_SIZE = 500;

/** The local AuditEvents (type `AuditEvent` only). */
export class LocalAuditSource implements ResourceSource {
  private db: Database.Database | undefined;

  /** @param dbPath - The service's own SQLite file (DATA_DIR/collateral.sqlite). */
  constructor(private readonly dbPath: string) {}

  private connection(): Database.Database | undefined {
    if (!this.db && existsSync(this.dbPath)) {
      this.db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
    }
    return this.db;
  }

  async *stream(opts: StreamOptions): AsyncIterable<Resource> {
    const db = this.connection();
    if (!db || !opts.types.includes('AuditEvent') || opts.patients) {
      return;
    }
    const since = opts.since ? new Date(opts.since).toISOString() : '';
    const page = db.prepare<[number, string, number], { rowid: number; event: string }>(
      'SELECT rowid, event FROM audit WHERE rowid > ? AND recorded >= ? ORDER BY rowid LIMIT ?'
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after, since, PAGE_SIZE);
      for (const row of rows) {
        yield JSON.parse(row.event) as Resource;
      }
      if (rows.length < PAGE_SIZE) {
        return;
      }
      after = rows[rows.length - 1].rowid;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async read(type: string, id: string): Promise<Resource | undefined> {
    if (type !== 'AuditEvent') {
      return undefined;
    }
    const row = this.connection()?.prepare<[string], { event: string }>('SELECT event FROM audit WHERE id = ?').get(id);
    return row ? (JSON.parse(row.event) as Resource) : undefined;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

/**
 * One source from several: each resource type read from the source given for it, every other type from
 * `rest`. The service routes `AuditEvent` to its local AuditEvents and the rest to the FHIR store.
 */
export function routedSource(byType: Record<string, ResourceSource>, rest: ResourceSource): ResourceSource {
  const sourceOf = (type: string): ResourceSource => byType[type] ?? rest;
  return {
    async *stream(opts: StreamOptions): AsyncIterable<Resource> {
      for (const type of opts.types) {
        yield* sourceOf(type).stream({ ...opts, types: [type] });
      }
    },
    read: (type, id) => sourceOf(type).read(type, id),
  };
}
