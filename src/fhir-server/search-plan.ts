/**
 * Plans a single-type search over the index: the conditions of every filter (search-filters.ts,
 * search-dates.ts), the candidate drivers (one is chosen by search-exec.ts), the ORDER BY, and whether
 * the whole is exact (then SQL pages and counts; otherwise medplum's matcher filters the candidates).
 */
import type { Filter, SearchRequest } from '@medplum/core';
import { Operator } from '@medplum/core';
import { dateGroupDriver } from './search-dates.js';
import { filterPlan } from './search-filters.js';
import { indexedParam } from './search-params.js';
import type { ResolvedSort } from './search-sort.js';
import { orderBySql, resolveSort } from './search-sort.js';
import type { Driver, FilterPlan, SqlPart } from './search-sql-parts.js';
import { LEFT_TO_MATCHER } from './search-sql-parts.js';

/** What the planner needs to read from the database. */
export interface PlanContext {
  /** The key of a parameter and whether it is marked broken; undefined when it has none. */
  param(resourceType: string, code: string): { pid: number; broken: boolean } | undefined;
  /** The span classes present for a date parameter. */
  dateClasses(pid: number): number[];
}

/** A planned search. */
export interface SearchPlan {
  resourceType: string;
  /** Every condition is exact: SQL answers the search (count, order, page) by itself. */
  exact: boolean;
  /** Some filter can never match: the answer is empty. */
  empty: boolean;
  /** Driver options, one per filter that can start the search (each a union of subqueries). */
  drivers: Driver[][];
  /** The conditions on `r`, AND-ed. */
  conditions: SqlPart[];
  order: SqlPart;
  sort: ResolvedSort[];
}

/**
 * @param request - A validated, normalised single-type request.
 * @param ctx - Database lookups.
 * @returns The plan.
 */
export function planSearch(request: SearchRequest, ctx: PlanContext): SearchPlan {
  const type = request.resourceType;
  const plan: SearchPlan = { resourceType: type, exact: true, empty: false, drivers: [], conditions: [], order: { sql: '', params: [] }, sort: [] };
  const dateGroups = new Map<number, Filter[]>();
  for (const filter of request.filters ?? []) {
    const param = indexedParam(type, filter.code);
    const info = param ? ctx.param(type, filter.code) : undefined;
    const fp: FilterPlan = param && info && !info.broken ? filterPlan(filter, { param, pid: info.pid }) : LEFT_TO_MATCHER;
    plan.exact &&= fp.exact;
    if (fp.cond) {
      plan.conditions.push(fp.cond);
    }
    if (fp.drivers?.length === 0) {
      plan.empty = true;
    } else if (fp.drivers) {
      plan.drivers.push(fp.drivers);
    }
    if (param?.table === 'date' && info && !info.broken && filter.operator !== Operator.MISSING && filter.operator !== Operator.PRESENT) {
      dateGroups.set(info.pid, [...(dateGroups.get(info.pid) ?? []), filter]);
    }
  }
  for (const [pid, filters] of dateGroups) {
    const driver = dateGroupDriver(filters, pid, ctx.dateClasses(pid));
    if (driver?.length === 0) {
      plan.empty = true;
    } else if (driver) {
      plan.drivers.push(driver);
    }
  }
  plan.sort = resolveSort(type, request.sortRules, (code) => {
    const info = ctx.param(type, code);
    return info && !info.broken ? info.pid : undefined;
  });
  plan.order = orderBySql(plan.sort);
  return plan;
}

/** One driver option as a single subquery. */
export function driverSql(option: Driver[]): SqlPart {
  return { sql: option.map((d) => d.sql).join(' UNION ALL '), params: option.flatMap((d) => d.params) };
}

/** An option ranks as its worst part. */
export function optionRank(option: Driver[]): number {
  return Math.max(...option.map((d) => d.rank));
}

/**
 * The FROM/WHERE of a planned search, from a chosen driver (or none: every resource of the type, in
 * index order).
 * @param plan - The plan.
 * @param driver - The chosen option, if any.
 * @returns `FROM search_resource r WHERE ...` and its parameters.
 */
export function fromWhere(plan: SearchPlan, driver: Driver[] | undefined): SqlPart {
  const where: string[] = [];
  const params: unknown[] = [];
  if (driver) {
    const d = driverSql(driver);
    // The unary + keeps SQLite from preferring the type index over the driver's rowid lookups.
    where.push(`r.rid IN (${d.sql})`, '+r.resource_type = ?');
    params.push(...d.params, plan.resourceType);
  } else {
    where.push('r.resource_type = ?');
    params.push(plan.resourceType);
  }
  for (const c of plan.conditions) {
    where.push(c.sql);
    params.push(...c.params);
  }
  return { sql: `FROM search_resource r WHERE ${where.join(' AND ')}`, params };
}
