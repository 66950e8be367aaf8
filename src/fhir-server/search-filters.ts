/**
 * Translates one search filter into SQL over the index, mirroring medplum's matcher
 * (`matchesSearchRequest` in @medplum/core, search/match.ts) case by case:
 * - `:missing` / `:present` test whether the parameter's expression yields anything;
 * - tokens compare lower-cased `system|code`, `|code` (no system), `system|` and `code`;
 * - references compare the reference string exactly;
 * - strings and uris match a lower-cased substring;
 * - dates: see search-dates.ts;
 * - `ne` and `:not` negate; comma-separated values are alternatives; other modifiers compare like
 *   equality, as in the matcher.
 */
import type { Filter } from '@medplum/core';
import { Operator, splitSearchOnComma } from '@medplum/core';
import { dateFilterPlan } from './search-dates.js';
import type { Driver, FilterPlan, ResolvedParam } from './search-sql-parts.js';
import { LEFT_TO_MATCHER, NEVER, Rank, TABLE_NAME, existsIn, isNegated, not, signed } from './search-sql-parts.js';

/**
 * @param filter - One filter of the request (already normalised, see search-normalize.ts).
 * @param p - Its parameter and key.
 * @returns Its translation.
 */
export function filterPlan(filter: Filter, p: ResolvedParam): FilterPlan {
  if (filter.operator === Operator.MISSING || filter.operator === Operator.PRESENT) {
    return presencePlan(filter, p);
  }
  switch (p.param.table) {
    case 'token':
      return tokenPlan(filter, p.pid);
    case 'reference':
      // _compartment also matches a bare id by suffix, which no index here serves.
      return p.param.code === '_compartment' ? LEFT_TO_MATCHER : referencePlan(filter, p.pid);
    case 'string':
      return stringPlan(filter, p.pid);
    case 'date':
      return dateFilterPlan(filter, p.pid);
  }
}

/** The matcher: `:missing=false` / `:present=true` want values, anything else wants none. */
function presencePlan(filter: Filter, p: ResolvedParam): FilterPlan {
  const wantsValues =
    (filter.operator === Operator.MISSING && filter.value === 'false') ||
    (filter.operator === Operator.PRESENT && filter.value === 'true');
  const exists = existsIn(p.param.table, p.pid, '');
  if (!wantsValues) {
    return { cond: not(exists), exact: true };
  }
  const table = TABLE_NAME[p.param.table];
  const driver = { sql: `SELECT rid FROM ${table} WHERE pid = ?`, params: [p.pid], rank: Rank.PARAM_SCAN };
  return { cond: exists, exact: true, drivers: [driver], driversExact: true };
}

function tokenPlan(filter: Filter, pid: number): FilterPlan {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const drivers: Driver[] = [];
  let exact = true;
  const add = (clause: string, values: string[]): void => {
    clauses.push(clause);
    params.push(...values);
    drivers.push({ sql: `SELECT rid FROM search_token WHERE pid = ? AND ${clause}`, params: [pid, ...values], rank: Rank.TOKEN });
  };
  for (const part of splitSearchOnComma(filter.value)) {
    if (part.includes('|')) {
      const [system, value] = part.split('|').map((s) => s.toLowerCase());
      if (!system && !value) {
        continue; // the matcher never matches a bare "|"
      }
      if (!system) {
        add("system = '' AND value = ?", [value]);
      } else if (value) {
        add('value = ? AND system = ?', [value, system]);
      } else {
        add('system = ?', [system]);
      }
    } else {
      // '' also stands for an absent value, which the matcher does not match against an empty code.
      exact &&= part !== '';
      add('value = ?', [part.toLowerCase()]);
    }
  }
  if (clauses.length === 0) {
    return signed(isNegated(filter.operator), NEVER, true, []);
  }
  // Unary + on the value columns: the check is a probe of this resource's rows by the primary key
  // (rid, pid), never a read of every row holding the value (a common code like status=current).
  const where = clauses.map((c) => `(${c.replaceAll(/\b(system|value)\b/g, '+x.$1')})`).join(' OR ');
  return signed(isNegated(filter.operator), existsIn('token', pid, where, params), exact, drivers, true);
}

function referencePlan(filter: Filter, pid: number): FilterPlan {
  const parts = splitSearchOnComma(filter.value);
  if (parts.includes('')) {
    // The matcher's special case for an empty value (it matches resources without the element) and
    // the marker row ('') are not worth mirroring: left to the matcher.
    return LEFT_TO_MATCHER;
  }
  const marks = parts.map(() => '?').join(', ');
  const driver = { sql: `SELECT rid FROM search_reference WHERE pid = ? AND ref IN (${marks})`, params: [pid, ...parts], rank: Rank.REFERENCE };
  return signed(isNegated(filter.operator), existsIn('reference', pid, `+x.ref IN (${marks})`, parts), true, [driver], true);
}

function stringPlan(filter: Filter, pid: number): FilterPlan {
  const parts = splitSearchOnComma(filter.value).map((s) => s.toLowerCase());
  const clause = parts.map(() => 'instr(x.value, ?) > 0').join(' OR ');
  const drivers = parts.map((q): Driver => {
    const match = trigramQuery(q);
    if (match) {
      return {
        sql:
          'SELECT s.rid FROM search_string_fts JOIN search_string s ON s.sid = search_string_fts.rowid ' +
          'WHERE search_string_fts MATCH ? AND s.pid = ?',
        params: [match, pid],
        rank: Rank.STRING,
      };
    }
    // Under three characters the trigram index cannot help: this parameter's values are scanned.
    return { sql: 'SELECT rid FROM search_string WHERE pid = ? AND instr(value, ?) > 0', params: [pid, q], rank: Rank.PARAM_SCAN };
  });
  return signed(isNegated(filter.operator), existsIn('string', pid, clause, parts), true, drivers);
}

/** Trigrams sampled from a long query: any subset still finds every value containing the query. */
const MAX_TRIGRAMS = 8;

/**
 * An FTS5 query matching every value that contains `q`: its trigrams, AND-ed (the index keeps no
 * positions, see search-schema.ts; the exact substring test is the caller's).
 * @param q - The lower-cased search string.
 * @returns The MATCH expression, or undefined under three characters.
 */
export function trigramQuery(q: string): string | undefined {
  const chars = [...q];
  if (chars.length < 3) {
    return undefined;
  }
  const all = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) {
    all.add(chars.slice(i, i + 3).join(''));
  }
  let grams = [...all];
  if (grams.length > MAX_TRIGRAMS) {
    const step = (grams.length - 1) / (MAX_TRIGRAMS - 1);
    grams = Array.from({ length: MAX_TRIGRAMS }, (_, i) => grams[Math.round(i * step)]);
  }
  return [...new Set(grams)].map((g) => `"${g.replaceAll('"', '""')}"`).join(' AND ');
}
