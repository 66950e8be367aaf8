/**
 * Keeps the search index in step with the stored resources across upgrades.
 *
 * `search_meta` holds the definitions fingerprint (search-params.ts) the complete index was built
 * with. When it is missing or differs (a version-1 file, a medplum upgrade, a run with the index
 * switched off), the stored resources are re-indexed in the background, in (type, id) order, in
 * short write transactions (about 20 ms each, between requests), the position committed with each
 * chunk so a restart resumes where it stopped. Until a type has been passed, searches of that type
 * are answered by scanning (correct, slow); once all are done the new fingerprint is recorded.
 * Progress is logged by counts only.
 */
import type { Statement } from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirDatabase } from './database.js';
import type { SearchIndexWriter } from './search-index.js';
import { definitionsFingerprint } from './search-params.js';

/** Where the index reports progress and problems: counts, types and codes only. */
export interface SearchIndexLogger {
  info?(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

/** Runs a synchronous piece of work inside a write transaction on the shared connection. */
export type WriteRunner = <T>(work: () => T) => Promise<T>;

const CHUNK_MS = 20;
const CHUNK_MAX_ROWS = 500;
const LOG_EVERY_MS = 5000;

interface Row {
  resource_type: string;
  id: string;
  content: string;
  deleted: number;
}

/** Reads and writes the index's state in search_meta. */
export class SearchIndexState {
  private readonly get: Statement<[string], { value: string }>;
  private readonly put: Statement<[string, string]>;
  private readonly del: Statement<[string]>;
  private readonly fingerprint = definitionsFingerprint();

  constructor(db: FhirDatabase) {
    this.get = db.prepare('SELECT value FROM search_meta WHERE key = ?');
    this.put = db.prepare('INSERT INTO search_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.del = db.prepare('DELETE FROM search_meta WHERE key = ?');
  }

  /** @returns True when the index is complete for these definitions. */
  isComplete(): boolean {
    return this.read('fingerprint') === this.fingerprint;
  }

  /**
   * @param resourceType - A resource type.
   * @returns True when searches of that type may use the index.
   */
  isReady(resourceType: string): boolean {
    if (this.isComplete()) {
      return true;
    }
    if (this.read('target') !== this.fingerprint) {
      return false;
    }
    const cursorType = this.read('cursor_type');
    return cursorType !== undefined && cursorType > resourceType;
  }

  /** Starts (or continues) a rebuild for the current definitions. */
  begin(): void {
    if (this.read('target') !== this.fingerprint) {
      this.put.run('target', this.fingerprint);
      this.put.run('cursor_type', '');
      this.put.run('cursor_id', '');
    }
  }

  /** @returns The last (type, id) re-indexed by the current rebuild. */
  cursor(): [string, string] {
    return [this.read('cursor_type') ?? '', this.read('cursor_id') ?? ''];
  }

  /** Records progress. */
  advance(type: string, id: string): void {
    this.put.run('cursor_type', type);
    this.put.run('cursor_id', id);
  }

  /** Records that the index is complete for the current definitions. */
  complete(): void {
    this.put.run('fingerprint', this.fingerprint);
    for (const key of ['target', 'cursor_type', 'cursor_id']) {
      this.del.run(key);
    }
  }

  /** Records that writes happened without indexing: the next indexed open rebuilds. */
  invalidate(): void {
    for (const key of ['fingerprint', 'target', 'cursor_type', 'cursor_id']) {
      this.del.run(key);
    }
  }

  /** @returns True when this rebuild is still the one for the current definitions. */
  isTargetCurrent(): boolean {
    return this.read('target') === this.fingerprint;
  }

  private read(key: string): string | undefined {
    return this.get.get(key)?.value;
  }
}

/** The background re-index of one connection. */
export class Reindexer {
  private readonly db: FhirDatabase;
  private readonly state: SearchIndexState;
  private readonly writer: SearchIndexWriter;
  private readonly write: WriteRunner;
  private readonly logger?: SearchIndexLogger;
  private readonly next: Statement<[string, string, number], Row>;
  private readonly countAll: Statement<[], { n: number }>;
  private running?: Promise<void>;

  constructor(db: FhirDatabase, state: SearchIndexState, writer: SearchIndexWriter, write: WriteRunner, logger?: SearchIndexLogger) {
    this.db = db;
    this.state = state;
    this.writer = writer;
    this.write = write;
    this.logger = logger;
    this.next = db.prepare(
      `SELECT resource_type, id, content, deleted FROM resources
       WHERE (resource_type, id) > (?, ?) ORDER BY resource_type, id LIMIT ?`
    );
    this.countAll = db.prepare('SELECT COUNT(*) AS n FROM resources');
  }

  /**
   * Starts the rebuild when the index is not complete: at once (synchronously) when nothing is
   * stored, else in the background.
   * @returns A promise settled when the index is complete (or the rebuild stopped).
   */
  start(): Promise<void> {
    if (!this.running) {
      this.running = this.db.transaction(() => this.begin()).immediate() ? Promise.resolve() : this.run();
    }
    return this.running;
  }

  /** @returns true when there is nothing to do. */
  private begin(): boolean {
    if (this.state.isComplete()) {
      return true;
    }
    this.state.begin();
    const [type, id] = this.state.cursor();
    if (this.next.all(type, id, 1).length === 0) {
      this.state.complete();
      return true;
    }
    return false;
  }

  private async run(): Promise<void> {
    const total = this.countAll.get()?.n ?? 0;
    const started = Date.now();
    let done = 0;
    let lastLog = started;
    this.logger?.info?.('FHIR search index: re-indexing stored resources', { total });
    try {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!this.db.open) {
          return;
        }
        const chunk = await this.write(() => this.chunk());
        if (chunk === undefined) {
          return; // the definitions changed under us (another process): its rebuild takes over
        }
        done += chunk.rows;
        if (chunk.finished) {
          this.logger?.info?.('FHIR search index: re-index complete', { indexed: done, total, ms: Date.now() - started });
          return;
        }
        if (Date.now() - lastLog >= LOG_EVERY_MS) {
          lastLog = Date.now();
          this.logger?.info?.('FHIR search index: re-indexing', { indexed: done, total });
        }
      }
    } catch (err) {
      if (this.db.open) {
        // Searches of the types not yet passed keep scanning; the next open resumes.
        const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
        this.logger?.error('FHIR search index: re-index stopped', { indexed: done, total, error: [name, code].filter(Boolean).join(' ') });
      }
    }
  }

  /** One chunk, inside a write transaction. undefined: abandoned. */
  private chunk(): { rows: number; finished: boolean } | undefined {
    if (!this.state.isTargetCurrent()) {
      return this.state.isComplete() ? { rows: 0, finished: true } : undefined;
    }
    const deadline = Date.now() + CHUNK_MS;
    let [type, id] = this.state.cursor();
    let rows = 0;
    while (Date.now() < deadline) {
      const batch = this.next.all(type, id, 50);
      for (const row of batch) {
        if (row.deleted) {
          this.writer.remove(row.resource_type, row.id);
        } else {
          this.writer.index(JSON.parse(row.content) as Resource);
        }
        [type, id] = [row.resource_type, row.id];
      }
      rows += batch.length;
      if (batch.length < 50) {
        this.state.complete();
        return { rows, finished: true };
      }
      if (rows >= CHUNK_MAX_ROWS) {
        break;
      }
    }
    this.state.advance(type, id);
    return { rows, finished: false };
  }
}
