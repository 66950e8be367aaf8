/**
 * A medplum FhirRepository persisted in SQLite, so the embedded FHIR server keeps its data across
 * restarts and crashes. medplum's FhirRouter drives it (REST interactions, conditional create/update,
 * batch/transaction Bundles); this class only stores, versions, validates, indexes and searches.
 * Every stored version updates the search index in the same transaction (search-index.ts); searches
 * are answered from it (search-exec.ts). See docs/embedded-fhir-server.md.
 */
import { randomUUID } from 'node:crypto';
import type { SearchRequest, WithId } from '@medplum/core';
import {
  OperationOutcomeError,
  Operator,
  badRequest,
  conflict,
  deepEquals,
  gone,
  normalizeOperationOutcome,
  notFound,
  preconditionFailed,
} from '@medplum/core';
import { FhirRepository } from '@medplum/fhir-router';
import type {
  CreateResourceOptions,
  ReadHistoryOptions,
  RepositoryMode,
  UpdateResourceOptions,
} from '@medplum/fhir-router';
import type { Bundle, Reference, Resource } from '@medplum/fhirtypes';
import type { Operation } from 'rfc6902';
import { applyPatch } from 'rfc6902';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import type { FhirDatabase } from './database.js';
import type { SearchTuning } from './search-exec.js';
import { SearchExecutor } from './search-exec.js';
import { SearchIndexWriter } from './search-index.js';
import { allIndexedParamCodes, specializeSearchParameters } from './search-params.js';
import type { SearchIndexLogger } from './search-reindex.js';
import { Reindexer, SearchIndexState } from './search-reindex.js';
import type { CurrentRow } from './statements.js';
import { Statements } from './statements.js';
import { TransactionManager } from './transactions.js';
import { historyEntry, sameContent, validate } from './versions.js';

/** Options of SqliteFhirRepository. */
export interface SqliteFhirRepositoryOptions {
  /** Re-index progress and index problems (counts, types and codes only). */
  logger?: SearchIndexLogger;
  /**
   * false: neither maintain nor use the search index (every search scans), for benchmarks and
   * diagnosis. A write in this mode marks the index stale, so the next indexed open rebuilds it.
   * Default true.
   */
  searchIndex?: boolean;
  /** How searches choose their SQL (search-exec.ts); tests shrink it to reach every path on small data. */
  searchTuning?: SearchTuning;
}

/** A FHIR R4 repository over one better-sqlite3 connection (see database.ts for the schema). */
export class SqliteFhirRepository extends FhirRepository<undefined> {
  private readonly sql: Statements;
  private readonly tx: TransactionManager;
  private readonly index: SearchIndexWriter;
  private readonly indexState: SearchIndexState;
  private readonly searcher: SearchExecutor;
  private readonly useIndex: boolean;
  private readonly reindexed: Promise<void>;

  /**
   * @param db - An open connection from openFhirDatabase(); the caller owns (and closes) it. Use one
   *   repository per connection: the repository serialises access to its connection.
   * @param options - Logger, and whether the search index is used.
   */
  constructor(db: FhirDatabase, options: SqliteFhirRepositoryOptions = {}) {
    super();
    loadFhirDefinitions();
    specializeSearchParameters();
    this.sql = new Statements(db);
    this.tx = new TransactionManager(db);
    this.useIndex = options.searchIndex !== false;
    const logger = options.logger;
    const reported = new Set<string>();
    this.index = new SearchIndexWriter(db, (resourceType, code) => {
      if (!reported.has(`${resourceType}.${code}`)) {
        reported.add(`${resourceType}.${code}`);
        logger?.warn('FHIR search parameter cannot be indexed; its searches scan', { resourceType, code });
      }
    });
    this.index.params.seed(allIndexedParamCodes());
    this.indexState = new SearchIndexState(db);
    this.searcher = new SearchExecutor(db, this.index.params, this.indexState, this.useIndex, logger, options.searchTuning);
    this.reindexed = this.useIndex
      ? new Reindexer(db, this.indexState, this.index, (work) => this.tx.write(work), logger).start()
      : Promise.resolve();
  }

  /**
   * @returns A promise settled once the search index covers every stored resource (at once for a new
   *   or up-to-date database; after the background re-index of an older one).
   */
  searchIndexReady(): Promise<void> {
    return this.reindexed;
  }

  /**
   * The SQL an indexed search would run, for the query-plan test and diagnostics.
   * @param searchRequest - A single-type search.
   * @returns The statements and parameters; undefined when the search would not use the index.
   */
  explainSearch(searchRequest: SearchRequest): { sql: string; params: unknown[] }[] | undefined {
    return this.searcher.explain(searchRequest);
  }

  /** One SQLite connection serves reads and writes alike, so the reader/writer mode is irrelevant. */
  setMode(_mode: RepositoryMode): void {
    // nothing to switch
  }

  /** @returns A new server-assigned resource id. */
  generateId(): string {
    return randomUUID();
  }

  /**
   * Runs `callback` in one SQLite transaction (BEGIN IMMEDIATE/COMMIT, ROLLBACK when it throws);
   * re-entrant: a call from inside another transaction becomes a savepoint.
   */
  withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    return this.tx.transaction(() => callback(undefined));
  }

  /**
   * Creates version 1 of a resource. The id is server-assigned unless `options.assignedId` is set and
   * the resource carries one (medplum's batch processing pre-assigns ids to rewrite urn:uuid references).
   */
  createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    return this.tx.write(() => {
      const id = options?.assignedId && resource.id ? resource.id : this.generateId();
      const current = this.sql.getCurrent(resource.resourceType, id);
      if (current && !current.deleted) {
        throw new OperationOutcomeError(conflict(`${resource.resourceType}/${id} already exists`));
      }
      return this.storeVersion({ ...resource, id }, current);
    });
  }

  /**
   * Updates a resource, creating it when the id is unknown (update-as-create). Content equal to the
   * current version (meta.versionId/lastUpdated aside) writes nothing and returns the current version,
   * so resending the same data never grows the history.
   */
  updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    return this.tx.write(() => this.updateSync(resource, options));
  }

  /** Applies an RFC 6902 JSON Patch to the current version and stores the result as an update. */
  patchResource<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    patch: Operation[]
  ): Promise<WithId<T>> {
    return this.tx.write(() => {
      const resource = this.readSync<T>(resourceType, id);
      let errors: unknown[];
      try {
        errors = applyPatch(resource, patch).filter(Boolean);
      } catch (err) {
        throw new OperationOutcomeError(normalizeOperationOutcome(err));
      }
      if (errors.length > 0) {
        throw new OperationOutcomeError(badRequest(errors.map((e) => (e as Error).message).join('\n')));
      }
      if (resource.resourceType !== resourceType || resource.id !== id) {
        throw new OperationOutcomeError(badRequest('A patch cannot change resourceType or id'));
      }
      return this.updateSync(resource);
    });
  }

  /** Soft-deletes a resource: a new, content-less version; reads then answer 410 Gone. Idempotent. */
  deleteResource(resourceType: string, id: string): Promise<void> {
    return this.tx.write(() => {
      const current = this.sql.getCurrent(resourceType, id);
      if (!current) {
        throw new OperationOutcomeError(notFound);
      }
      if (current.deleted) {
        return;
      }
      const lastUpdated = new Date().toISOString();
      this.sql.writeVersion({ resourceType, id, versionId: current.version_id + 1, lastUpdated });
      this.updateIndex(() => this.index.remove(resourceType, id));
    });
  }

  /**
   * Stores resources exactly as another server confirmed them: id, meta.versionId and meta.lastUpdated
   * are kept in the content, the row's version number is local, and nothing is validated (the content
   * is what that server holds). One transaction for all. A resource equal to the stored one, or one the
   * `keepCurrent` test prefers the stored one to (an older version arriving late), is left out.
   * For the service's copy of what it sent to an external target (src/local-copy).
   * @returns How many were stored.
   */
  storeAsIs(resources: WithId<Resource>[], keepCurrent?: (stored: Resource, incoming: Resource) => boolean): Promise<number> {
    return this.tx.write(() => {
      let stored = 0;
      for (const resource of resources) {
        const current = this.sql.getCurrent(resource.resourceType, resource.id);
        if (current && !current.deleted) {
          const existing = JSON.parse(current.content) as Resource;
          if (deepEquals(existing, resource) || keepCurrent?.(existing, resource)) {
            continue;
          }
        }
        const when = Date.parse(resource.meta?.lastUpdated ?? '');
        this.sql.writeVersion({
          resourceType: resource.resourceType,
          id: resource.id,
          versionId: (current?.version_id ?? 0) + 1,
          // The column is compared as text (_since, paging): always ISO 8601 in UTC.
          lastUpdated: Number.isNaN(when) ? new Date().toISOString() : new Date(when).toISOString(),
          content: JSON.stringify(resource),
        });
        this.updateIndex(() => this.index.index(resource));
        stored++;
      }
      return stored;
    });
  }

  /** Reads the current version; notFound when unknown, gone when deleted. */
  readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    return this.tx.read(() => this.readSync<T>(resourceType, id));
  }

  /** Reads a `Type/id` reference. */
  readReference<T extends Resource>(reference: Reference<T>): Promise<WithId<T>> {
    const parts = reference.reference?.split('/');
    if (parts?.length !== 2 || !parts[0] || !parts[1]) {
      return Promise.reject(new OperationOutcomeError(badRequest('Invalid reference')));
    }
    return this.readResource<T>(parts[0], parts[1]);
  }

  /** Reads several references; a failed one yields its error in place. */
  readReferences<T extends Resource>(references: readonly Reference<T>[]): Promise<(T | Error)[]> {
    return Promise.all(references.map((r) => this.readReference<T>(r).catch((err: Error) => err)));
  }

  /** Reads one version; gone when that version is a deletion. */
  readVersion<T extends Resource>(resourceType: string, id: string, vid: string): Promise<WithId<T>> {
    return this.tx.read(() => {
      const versionId = /^\d+$/.test(vid) ? Number(vid) : NaN;
      const row = Number.isNaN(versionId) ? undefined : this.sql.getVersion(resourceType, id, versionId);
      if (!row) {
        throw new OperationOutcomeError(notFound);
      }
      if (row.deleted || row.content === null) {
        throw new OperationOutcomeError(gone);
      }
      return JSON.parse(row.content) as WithId<T>;
    });
  }

  /** A history Bundle of every version, deletions included, newest first; paged by limit/offset. */
  readHistory<T extends Resource>(
    resourceType: string,
    id: string,
    options?: ReadHistoryOptions
  ): Promise<Bundle<WithId<T>>> {
    return this.tx.read(() => {
      const total = this.sql.countHistory(resourceType, id);
      if (total === 0) {
        throw new OperationOutcomeError(notFound);
      }
      const limit = Math.min(Math.max(options?.limit ?? 100, 0), 1000);
      const offset = Math.max(options?.offset ?? 0, 0);
      const rows = this.sql.getHistory(resourceType, id, limit, offset);
      return {
        resourceType: 'Bundle',
        type: 'history',
        total,
        entry: rows.map((row) => historyEntry<T>(resourceType, id, row)),
      };
    });
  }

  /**
   * Searches with the index (search-exec.ts), medplum's matcher having the last word. Supports
   * filters, `_sort`, `_count` (default 20, at most 1000), `_offset`, `_type` (system search) and
   * always reports `total`. `_include`/`_revinclude`/`_elements`/`_summary` are ignored.
   */
  async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const answer = await this.tx.read(() => this.searcher.trySearch(searchRequest));
    if (answer) {
      return answer;
    }
    if (this.tx.inTransaction()) {
      // Inside a transaction (a conditional entry of a Bundle) the connection is ours already: at once.
      return this.tx.read(() => {
        const scan = this.searcher.startScan(searchRequest);
        while (scan.step()) {
          // next chunk
        }
        return scan.result();
      });
    }
    // Candidates to parse and match: in chunks, holding the connection (so they cannot change) but
    // letting the event loop run between chunks.
    // (tx.read inside the transaction runs at once, with storage errors turned into a 500 outcome.)
    return this.tx.transaction(async () => {
      const scan = await this.tx.read(() => this.searcher.startScan(searchRequest));
      while (await this.tx.read(() => scan.step())) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      return this.tx.read(() => scan.result());
    });
  }

  /** For each reference, the resources whose `referenceField` points at it (one search per reference). */
  async searchByReference<T extends Resource>(
    searchRequest: SearchRequest<T>,
    referenceField: string,
    references: string[]
  ): Promise<Record<string, WithId<T>[]>> {
    const results: Record<string, WithId<T>[]> = {};
    for (const reference of references) {
      const byReference = { code: referenceField, operator: Operator.EQUALS, value: reference };
      const filters = [...(searchRequest.filters ?? []), byReference];
      const bundle = await this.search({ ...searchRequest, filters });
      results[reference] = (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    }
    return results;
  }

  private readSync<T extends Resource>(resourceType: string, id: string): WithId<T> {
    const current = this.sql.getCurrent(resourceType, id);
    if (!current) {
      throw new OperationOutcomeError(notFound);
    }
    if (current.deleted) {
      throw new OperationOutcomeError(gone);
    }
    return JSON.parse(current.content) as WithId<T>;
  }

  private updateSync<T extends Resource>(resource: T, options?: UpdateResourceOptions): WithId<T> {
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest('Missing id'));
    }
    const current = this.sql.getCurrent(resource.resourceType, resource.id);
    const live = current && !current.deleted ? current : undefined;
    if (options?.ifMatch !== undefined && String(live?.version_id) !== options.ifMatch) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    if (live) {
      const existing = JSON.parse(live.content) as WithId<T>;
      if (sameContent(existing, resource)) {
        return existing;
      }
    }
    return this.storeVersion(resource as WithId<T>, current);
  }

  /** Validates and writes the next version of `resource` after `current` (if any). */
  private storeVersion<T extends Resource>(resource: WithId<T>, current: CurrentRow | undefined): WithId<T> {
    const versionId = (current?.version_id ?? 0) + 1;
    const lastUpdated = new Date().toISOString();
    const stored = structuredClone(resource);
    stored.meta = { ...stored.meta, versionId: String(versionId), lastUpdated };
    validate(stored);
    this.sql.writeVersion({
      resourceType: stored.resourceType,
      id: stored.id,
      versionId,
      lastUpdated,
      content: JSON.stringify(stored),
    });
    this.updateIndex(() => this.index.index(stored));
    return stored;
  }

  /**
   * Runs an index update, or (index off) marks the index stale: on every write, as a flag kept in
   * memory would outlive a rolled-back transaction. Inside the write transaction.
   */
  private updateIndex(work: () => void): void {
    if (this.useIndex) {
      work();
    } else {
      this.indexState.invalidate();
    }
  }
}

