/**
 * The order of search results, defined once and computed two ways that must agree: in SQL over the
 * index (ORDER BY, the usual path) and in JavaScript over parsed resources (when the index cannot
 * answer a search exactly and medplum's matcher filters the candidates).
 *
 * The order: each `_sort` rule in turn, then `_lastUpdated` and `id` as tie-breakers (ascending, or in
 * the direction of a `_lastUpdated` rule, so `_sort=-_lastUpdated` reads the index backwards).
 * A rule's key: `_lastUpdated` and `_id` the resource's own; for another parameter, the lowest of its
 * values ascending and the highest descending (dates: the lowest start ascending, the highest end
 * descending), values as the index holds them (lower-cased tokens and strings, reference strings, UTC
 * instants); resources without a value come last either way. Rules on parameters the index does not
 * hold (number, quantity, composite...) are ignored. Strings compare by UTF-8 bytes, as SQLite does.
 */
import type { SortRule } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ParamEntries } from './search-extract.js';
import { MARKER_CLASS } from './search-extract.js';
import type { IndexedParam } from './search-params.js';
import { indexedParam } from './search-params.js';
import type { SqlPart } from './search-sql-parts.js';

/** A sort rule resolved against the index. */
export interface ResolvedSort {
  code: string;
  descending: boolean;
  /** Undefined for _lastUpdated and _id. */
  param?: IndexedParam;
  pid?: number;
}

/**
 * Resolves sort rules; rules the index does not hold (unknown, or a parameter kind it does not store,
 * or broken) are dropped, as documented above.
 * @param resourceType - The searched type.
 * @param rules - The request's `_sort` rules.
 * @param pidOf - The key of an indexed parameter, undefined when it must not be used.
 * @returns The usable rules.
 */
export function resolveSort(
  resourceType: string,
  rules: SortRule[] | undefined,
  pidOf: (code: string) => number | undefined
): ResolvedSort[] {
  const out: ResolvedSort[] = [];
  for (const rule of rules ?? []) {
    const descending = rule.descending === true;
    if (rule.code === '_lastUpdated' || rule.code === '_id') {
      out.push({ code: rule.code, descending });
      continue;
    }
    const param = indexedParam(resourceType, rule.code);
    const pid = param ? pidOf(rule.code) : undefined;
    if (param && pid !== undefined) {
      out.push({ code: rule.code, descending, param, pid });
    }
  }
  return out;
}

/** The tie-breakers appended to the rules. */
function tieBreakers(rules: SortOrderRule[]): ResolvedSort[] {
  const byUpdated = rules.find((r) => r.code === '_lastUpdated');
  if (byUpdated) {
    return [{ code: '_id', descending: byUpdated.descending === true }];
  }
  return [
    { code: '_lastUpdated', descending: false },
    { code: '_id', descending: false },
  ];
}

// Keyed by the resource (rid, pid); the unary + keeps SQLite off the value indexes (see existsIn).
const KEY_SQL: Record<string, (descending: boolean) => string> = {
  token: (d) => `SELECT ${d ? 'MAX' : 'MIN'}(x.value) FROM search_token x WHERE x.rid = r.rid AND x.pid = ? AND NOT (+x.system = '' AND +x.value = '')`,
  reference: (d) => `SELECT ${d ? 'MAX' : 'MIN'}(x.ref) FROM search_reference x WHERE x.rid = r.rid AND x.pid = ? AND +x.ref <> ''`,
  date: (d) => `SELECT ${d ? 'MAX(x.high)' : 'MIN(x.low)'} FROM search_date x WHERE x.rid = r.rid AND x.pid = ? AND +x.span >= 0`,
  string: (d) => `SELECT ${d ? 'MAX' : 'MIN'}(x.value) FROM search_string x WHERE x.rid = r.rid AND x.pid = ?`,
};

/**
 * @param rules - Resolved rules.
 * @returns The ORDER BY clause (without the keywords) and its parameters.
 */
export function orderBySql(rules: ResolvedSort[]): SqlPart {
  const terms: string[] = [];
  const params: unknown[] = [];
  for (const rule of [...rules, ...tieBreakers(rules)]) {
    const dir = rule.descending ? 'DESC' : 'ASC';
    if (rule.code === '_lastUpdated') {
      terms.push(`r.last_updated ${dir}`);
    } else if (rule.code === '_id') {
      terms.push(`r.id ${dir}`);
    } else if (rule.param && rule.pid !== undefined) {
      const key = `(${KEY_SQL[rule.param.table](rule.descending)})`;
      terms.push(`${key} IS NULL`, `${key} ${dir}`);
      params.push(rule.pid, rule.pid);
    }
  }
  return { sql: terms.join(', '), params };
}

/** A sort rule as the JavaScript order needs it (the parameter is looked up in the entries by code). */
export interface SortOrderRule {
  code: string;
  descending?: boolean;
}

/** A sort key in JavaScript: the same value the SQL computes, undefined for none. */
export function sortKey(resource: Resource, rule: SortOrderRule, entries: ParamEntries[]): string | undefined {
  if (rule.code === '_lastUpdated') {
    return resource.meta?.lastUpdated ?? '';
  }
  if (rule.code === '_id') {
    return resource.id ?? '';
  }
  const entry = entries.find((e) => e.param.code === rule.code);
  let values: string[] = [];
  if (entry?.tokens) {
    values = entry.tokens.filter((t) => t.system !== '' || t.value !== '').map((t) => t.value);
  } else if (entry?.references) {
    values = entry.references.filter((ref) => ref !== '');
  } else if (entry?.dates) {
    values = entry.dates.filter((d) => d.span !== MARKER_CLASS).map((d) => (rule.descending ? d.high : d.low));
  } else if (entry?.strings) {
    values = entry.strings.filter((s): s is string => s !== null);
  }
  if (values.length === 0) {
    return undefined;
  }
  return values.reduce((best, v) => (compareBytes(v, best) * (rule.descending ? -1 : 1) < 0 ? v : best));
}

/**
 * Sorts resources in the search order (in place).
 * @param items - Each resource with its index entries.
 * @param rules - Resolved rules.
 * @returns The same array.
 */
export function sortInSearchOrder<T extends { resource: Resource; entries: ParamEntries[] }>(items: T[], rules: SortOrderRule[]): T[] {
  const all = [...rules, ...tieBreakers(rules)];
  const keys = new Map<T, (string | undefined)[]>(items.map((item) => [item, all.map((rule) => sortKey(item.resource, rule, item.entries))]));
  return items.sort((a, b) => {
    const ka = keys.get(a) as (string | undefined)[];
    const kb = keys.get(b) as (string | undefined)[];
    for (let i = 0; i < all.length; i++) {
      const c = compareKeys(ka[i], kb[i], all[i].descending === true);
      if (c !== 0) {
        return c;
      }
    }
    return 0;
  });
}

function compareKeys(a: string | undefined, b: string | undefined, descending: boolean): number {
  if (a === undefined || b === undefined) {
    return a === b ? 0 : a === undefined ? 1 : -1; // no value: last either way
  }
  return compareBytes(a, b) * (descending ? -1 : 1);
}

/** Compares like SQLite's BINARY collation (UTF-8 bytes). */
export function compareBytes(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
