/**
 * The shared vocabulary of the search SQL builders (search-filters.ts, search-dates.ts,
 * search-plan.ts): SQL fragments with their parameters, drivers, and filter plans.
 *
 * Every condition is about the searched resource, `r` (a row of search_resource); value tables are
 * aliased `x` inside the EXISTS subqueries.
 */
import { Operator } from '@medplum/core';
import type { IndexedParam, ValueTable } from './search-params.js';

/** A piece of SQL and its parameters. */
export interface SqlPart {
  sql: string;
  params: unknown[];
}

/** How much a driver narrows, best first: orders the candidates before they are probed. */
export const Rank = {
  REFERENCE: 2,
  TOKEN: 3,
  STRING: 4,
  DATE_WINDOW: 5,
  DATE_OPEN: 6,
  PARAM_SCAN: 8,
} as const;

/** A driver: a subquery yielding the rids of a superset of a filter's matches. */
export interface Driver extends SqlPart {
  rank: number;
}

/** The translation of one filter. */
export interface FilterPlan {
  /** Undefined: no condition (the filter is left to the matcher). */
  cond?: SqlPart;
  /** True when `cond` holds exactly when medplum's matcher matches; false: a superset. */
  exact: boolean;
  /**
   * Undefined: this filter cannot start a search. [] : it matches nothing. Otherwise subqueries whose
   * union holds every match.
   */
  drivers?: Driver[];
  /** The drivers yield exactly this filter's matches (its condition need not be checked again). */
  driversExact?: boolean;
}

/** One way to start a search: subqueries whose union holds every match, and what they make redundant. */
export interface DriverOption {
  parts: Driver[];
  /** Indexes into SearchPlan.conditions that hold for every row the parts yield. */
  covers: number[];
}

/** The parameter a filter names, with its index key. */
export interface ResolvedParam {
  param: IndexedParam;
  pid: number;
}

/** A filter the index cannot evaluate: every resource is a candidate, the matcher decides. */
export const LEFT_TO_MATCHER: FilterPlan = { exact: false };

/** The table of each kind of value. */
export const TABLE_NAME: Record<ValueTable, string> = {
  token: 'search_token',
  reference: 'search_reference',
  date: 'search_date',
  string: 'search_string',
};

/** The matcher's negations. */
export function isNegated(operator: Operator): boolean {
  return operator === Operator.NOT_EQUALS || operator === Operator.NOT;
}

/**
 * `EXISTS (a row of this parameter of r [satisfying clause])`: a probe of r's own rows by the value
 * table's (rid, pid) key. Clauses mark their columns with a unary + so SQLite does not prefer a value
 * index (which would read every resource's rows holding the value, for each candidate).
 */
export function existsIn(table: ValueTable, pid: number, clause: string, params: unknown[] = []): SqlPart {
  const where = clause ? ` AND (${clause})` : '';
  return {
    sql: `EXISTS (SELECT 1 FROM ${TABLE_NAME[table]} x WHERE x.rid = r.rid AND x.pid = ?${where})`,
    params: [pid, ...params],
  };
}

/** `NOT (part)`. */
export function not(part: SqlPart): SqlPart {
  return { sql: `NOT ${part.sql}`, params: part.params };
}

/** A condition that never holds. */
export const NEVER: SqlPart = { sql: '0', params: [] };

/**
 * A filter's plan from its positive condition.
 * @param negated - The filter is `ne` or `:not`.
 * @param exists - The positive condition.
 * @param exact - Whether that condition is exact.
 * @param drivers - The positive drivers.
 * @param driversExact - The drivers yield exactly the matches of the (exact) positive condition.
 * @returns The plan; a negated inexact condition is left to the matcher (NOT of a superset is a subset).
 */
export function signed(negated: boolean, exists: SqlPart, exact: boolean, drivers: Driver[] | undefined, driversExact = false): FilterPlan {
  if (!negated) {
    return { cond: exists, exact, drivers, driversExact: driversExact && exact };
  }
  return exact ? { cond: not(exists), exact: true } : LEFT_TO_MATCHER;
}
