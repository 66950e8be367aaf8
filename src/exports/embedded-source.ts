/**
 * ResourceSource over the embedded FHIR server's SQLite store (`DATA_DIR/fhir.sqlite`), through its own
 * read-only connection: an export never blocks or changes the server's writes.
 *
 * Rows are read in pages by primary key (resource_type, id), each page a short read, so memory stays
 * constant and no read transaction stays open across a long export (a long one would keep the WAL from
 * being checkpointed). Resources written while an export runs may or may not be included, as Bulk Data
 * allows for anything after transactionTime.
 */
import Database from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import { inPatientCompartment } from './compartment.js';
import type { ResourceReader, ResourceSource, SourceQuery } from './source.js';

const PAGE = 500;

/** Reads the embedded FHIR store. */
export class EmbeddedSource implements ResourceSource, ResourceReader {
  private readonly db: Database.Database;

  /** @param dbPath - The embedded server's SQLite file (it must exist: the server creates it first). */
  constructor(dbPath: string) {
    this.db = new Database(dbPath, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
  }

  async *stream(opts: SourceQuery): AsyncIterable<Resource> {
    const since = opts.since ? new Date(opts.since).toISOString() : undefined;
    const patients = opts.patients ? new Set(opts.patients.map((p) => p.replace(/^.*Patient\//, ''))) : undefined;
    const page = this.db.prepare<[string, string, string, number], { id: string; content: string }>(
      `SELECT id, content FROM resources
        WHERE resource_type = ? AND deleted = 0 AND id > ? AND last_updated > ?
        ORDER BY id LIMIT ?`
    );
    for (const type of opts.types) {
      if (patients?.size === 0) {
        return;
      }
      let after = '';
      for (;;) {
        const rows = page.all(type, after, since ?? '', PAGE);
        for (const row of rows) {
          const resource = JSON.parse(row.content) as Resource;
          if (!patients || inPatientCompartment(resource, patients)) {
            yield resource;
          }
        }
        if (rows.length < PAGE) {
          break;
        }
        after = rows[rows.length - 1].id;
        // Let the HTTP server answer between pages.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  async read(type: string, id: string): Promise<Resource | undefined> {
    const row = this.db.prepare<[string, string], { content: string }>('SELECT content FROM resources WHERE resource_type = ? AND id = ? AND deleted = 0').get(type, id);
    return row ? (JSON.parse(row.content) as Resource) : undefined;
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}
