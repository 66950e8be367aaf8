/**
 * The searches verify-target makes, batched and paged so its cost grows with the ledger in pages, not
 * in requests per resource: `_id=` and `identifier=` lists of comma-separated values (OR), `_count` per
 * page, `next` links followed to the end, a few chunks in flight at once.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { matchesOf } from './writers/ledger.js';

export type SearchPort = Pick<FhirTarget, 'search' | 'nextPage'>;

/** Every match of a type-level search, page after page. */
export async function searchAll(target: SearchPort, type: string, params: Record<string, string>): Promise<Resource[]> {
  let page: Bundle | undefined = await target.search(type, params);
  const found: Resource[] = [];
  // A server that answers every page with a next link forever must not keep us here: 100k pages is past any ledger.
  for (let pages = 0; page && pages < 100_000; pages++) {
    found.push(...matchesOf(page, type));
    page = await target.nextPage(page);
  }
  return found;
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** Runs `fn` on every item, at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** A token search value: commas, dollars and backslashes in a value are escaped (FHIR search, "Escaping"). */
function tokenValue(identifier: string): string {
  const bar = identifier.indexOf('|');
  const escape = (s: string): string => s.replace(/[\\,$]/g, (c) => `\\${c}`);
  return bar < 0 ? escape(identifier) : `${escape(identifier.slice(0, bar))}|${escape(identifier.slice(bar + 1))}`;
}

export interface BatchedSearch {
  target: SearchPort;
  /** Values per request (`_id=` or `identifier=` list) and page size. */
  chunkSize: number;
  /** Chunks in flight at once. */
  concurrency: number;
}

/** The resources of `type` with these ids (`_id=a,b,…`); absent ids are simply not in the map. */
export async function resourcesByIds(s: BatchedSearch, type: string, ids: readonly string[]): Promise<Map<string, Resource>> {
  const found = new Map<string, Resource>();
  const parts = await mapLimit(chunks([...new Set(ids)], s.chunkSize), s.concurrency, (c) =>
    searchAll(s.target, type, { _id: c.join(','), _count: String(s.chunkSize) })
  );
  for (const r of parts.flat()) {
    found.set(r.id as string, r);
  }
  return found;
}

/** Every resource of `type` carrying one of these identifiers (`identifier=s|v,…`), each once. */
export async function resourcesByIdentifiers(s: BatchedSearch, type: string, identifiers: readonly string[]): Promise<Resource[]> {
  const parts = await mapLimit(chunks([...new Set(identifiers)], s.chunkSize), s.concurrency, (c) =>
    searchAll(s.target, type, { identifier: c.map(tokenValue).join(','), _count: String(s.chunkSize) })
  );
  // A resource with two of our identifiers in different chunks comes back twice.
  return [...new Map(parts.flat().map((r) => [r.id as string, r])).values()];
}
