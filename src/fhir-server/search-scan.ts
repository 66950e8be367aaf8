/**
 * The candidate path of a search (search-exec.ts, paths 2 and 3): the ids of the candidates are listed
 * first (from the index, or every live resource of the type), then their bodies are parsed and given to
 * medplum's matcher in chunks of about 20 ms, so a search that cannot be narrowed keeps the event loop
 * responsive. The caller holds the connection (a transaction) between chunks, so the candidates do not
 * change under the scan.
 */
import type { SearchRequest, WithId } from '@medplum/core';
import { matchesSearchRequest } from '@medplum/core';
import type { Statement } from 'better-sqlite3';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { pageSize, searchset } from './search.js';
import type { ParamEntries } from './search-extract.js';
import { extractEntries } from './search-extract.js';
import { sortInSearchOrder } from './search-sort.js';

const CHUNK_MS = 20;

/** The candidates of one type. */
export interface TypeCandidates {
  request: SearchRequest;
  ids: string[];
}

interface Item {
  resource: WithId<Resource>;
  entries: ParamEntries[];
}

/** A search answered by parsing and matching candidates, a chunk at a time. */
export class CandidateScan<T extends Resource> {
  private readonly content: Statement<[string, string], { content: string }>;
  private readonly request: SearchRequest<T>;
  private readonly pending: TypeCandidates[];
  private readonly withEntries: boolean;
  private readonly items: Item[] = [];
  private position = 0;

  /**
   * @param content - Reads a live resource's JSON by type and id.
   * @param request - The whole request (sort, paging).
   * @param candidates - The candidates of each searched type, with that type's request.
   */
  constructor(content: Statement<[string, string], { content: string }>, request: SearchRequest<T>, candidates: TypeCandidates[]) {
    this.content = content;
    this.request = request;
    this.pending = candidates;
    this.withEntries = (request.sortRules ?? []).some((r) => r.code !== '_id' && r.code !== '_lastUpdated');
  }

  /**
   * Parses and matches candidates for about CHUNK_MS.
   * @returns True while candidates remain.
   */
  step(): boolean {
    const deadline = performance.now() + CHUNK_MS;
    while (this.pending.length > 0) {
      const { request, ids } = this.pending[0];
      while (this.position < ids.length) {
        const row = this.content.get(request.resourceType, ids[this.position++]);
        const resource = row ? (JSON.parse(row.content) as WithId<Resource>) : undefined;
        if (resource && matchesSearchRequest(resource, request)) {
          this.items.push({ resource, entries: this.withEntries ? extractEntries(resource) : [] });
        }
        if ((this.position & 63) === 0 && performance.now() >= deadline) {
          return true;
        }
      }
      this.pending.shift();
      this.position = 0;
    }
    return false;
  }

  /** @returns The searchset: every match counted, one page in the search order. */
  result(): Bundle<WithId<T>> {
    sortInSearchOrder(this.items, this.request.sortRules ?? []);
    const offset = Math.max(this.request.offset ?? 0, 0);
    const page = this.items.slice(offset, offset + pageSize(this.request)).map((i) => i.resource as WithId<T>);
    return searchset(this.items.length, page);
  }
}
