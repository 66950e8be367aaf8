/**
 * Where view runs and exports read "the resources this service holds".
 *
 * The embedded implementation reads the embedded FHIR server's SQLite file through a read-only
 * connection of its own (WAL lets it read while the server writes), in keyset pages so memory stays
 * bounded by one page however large a type grows. The external-target mode (the service's own copy
 * of what it sent) is a second implementation of the same interface.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import { inPatientCompartment } from './compartment.js';

/** What to stream. */
export interface StreamOptions {
  /** Resource types to read (others are never read). */
  types: string[];
  /** Only resources last updated at or after this instant (ISO 8601). */
  since?: string;
  /** Only resources in the compartment of one of these Patients (ids, without `Patient/`). */
  patients?: string[];
}

/** Read access to the resources the service holds. */
export interface ResourceSource {
  /** The current version of every matching resource (deleted ones excluded), one at a time. */
  stream(opts: StreamOptions): AsyncIterable<Resource>;
  /** One resource by type and id (for Group membership), or undefined. */
  read(type: string, id: string): Promise<Resource | undefined>;
}

/**
 * Rows per page: large enough to amortise a query (two index seeks), small enough that a page's JSON
 * texts die young. A page is processed between two scavenges of V8's young generation (about 16 MB
 * of allocation, some 400 resources parsed, de-identified and evaluated); with 500 rows a page's texts
 * outlived them, were promoted to the old generation and piled up there as garbage until the next
 * full collection: 270 MB of it at 100,000 resources, the whole of the peak RSS over the 300 MB target
 * (`node --trace-gc`, docs/benchmarks.md "Views at scale").
 */
const PAGE_SIZE = 100;

interface Row {
  rowid: number;
  last_updated: string;
  content: string;
}

/**
 * The embedded FHIR server's store, read only.
 * Table `resources(resource_type, id, version_id, last_updated, content, deleted)`, index
 * `resources_by_type (resource_type, deleted, last_updated)`: pages walk that index by
 * (last_updated, rowid), so neither `_since` nor paging reads rows of other types or earlier pages.
 */
export class EmbeddedStoreSource implements ResourceSource {
  private db: Database.Database | undefined;
  private readOne: Database.Statement<[string, string], { content: string }> | undefined;

  /** @param dbPath - The embedded FHIR server's SQLite file (DATA_DIR/fhir.sqlite). */
  constructor(private readonly dbPath: string) {}

  private connection(): Database.Database | undefined {
    if (!this.db) {
      if (!existsSync(this.dbPath)) {
        return undefined; // no FHIR store yet: nothing held
      }
      this.db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
    }
    return this.db;
  }

  async *stream(opts: StreamOptions): AsyncIterable<Resource> {
    const db = this.connection();
    if (!db) {
      return;
    }
    // Two seeks instead of one `(last_updated, rowid) > (?, ?)`, which SQLite answers by rescanning
    // every row of the cursor's timestamp: the rest of the current timestamp, then the later ones.
    const sameTime = db.prepare<[string, string, number, number], Row>(
      `SELECT rowid, last_updated, content FROM resources
        WHERE resource_type = ? AND deleted = 0 AND last_updated = ? AND rowid > ? ORDER BY rowid LIMIT ?`
    );
    const later = db.prepare<[string, string, number], Row>(
      `SELECT rowid, last_updated, content FROM resources
        WHERE resource_type = ? AND deleted = 0 AND last_updated > ? ORDER BY last_updated, rowid LIMIT ?`
    );
    const patients = opts.patients ? new Set(opts.patients) : undefined;
    for (const type of opts.types) {
      // `_since` is inclusive: start at its own timestamp, before any row.
      let cursor = { lastUpdated: opts.since ? new Date(opts.since).toISOString() : '', rowid: -1 };
      for (;;) {
        const rows = sameTime.all(type, cursor.lastUpdated, cursor.rowid, PAGE_SIZE);
        if (rows.length < PAGE_SIZE) {
          rows.push(...later.all(type, cursor.lastUpdated, PAGE_SIZE - rows.length));
        }
        const count = rows.length;
        const last = rows[count - 1];
        for (let i = 0; i < count; i++) {
          const resource = JSON.parse(rows[i].content) as Resource;
          rows[i].content = ''; // the text is garbage from here on, not once the whole page is done
          if (!patients || inPatientCompartment(resource, patients)) {
            yield resource;
          }
        }
        if (count < PAGE_SIZE) {
          break;
        }
        cursor = { lastUpdated: last.last_updated, rowid: last.rowid };
        // Let the HTTP response drain and other requests run between pages.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  async read(type: string, id: string): Promise<Resource | undefined> {
    const db = this.connection();
    if (!db) {
      return undefined;
    }
    // Prepared once: the accounting of an identified run reads one Patient per client (thousands).
    this.readOne ??= db.prepare<[string, string], { content: string }>('SELECT content FROM resources WHERE resource_type = ? AND id = ? AND deleted = 0');
    const row = this.readOne.get(type, id);
    return row ? (JSON.parse(row.content) as Resource) : undefined;
  }

  /** Closes the connection (the service's close()). */
  close(): void {
    this.db?.close();
    this.db = undefined;
    this.readOne = undefined;
  }
}
