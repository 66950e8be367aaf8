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
import type { DriverOption, FilterPlan, SqlPart } from './search-sql-parts.js';
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
  /** Driver options, one per filter (or date parameter) that can start the search. */
  drivers: DriverOption[];
  /** The conditions on `r`, AND-ed. */
  conditions: SqlPart[];
  order: SqlPart;
  sort: ResolvedSort[];
  /** The order is the (resource_type, last_updated, id) index's, forwards or backwards. */
  indexOrdered: boolean;
}

/**
 * @param request - A validated, normalised single-type request.
 * @param ctx - Database lookups.
 * @returns The plan.
 */
export function planSearch(request: SearchRequest, ctx: PlanContext): SearchPlan {
  const type = request.resourceType;
  const plan: SearchPlan = {
    resourceType: type,
    exact: true,
    empty: false,
    drivers: [],
    conditions: [],
    order: { sql: '', params: [] },
    sort: [],
    indexOrdered: false,
  };
  const dateGroups = new Map<number, Filter[]>();
  const conditionOf = new Map<Filter, number>();
  for (const filter of request.filters ?? []) {
    const param = indexedParam(type, filter.code);
    const info = param ? ctx.param(type, filter.code) : undefined;
    const fp: FilterPlan = param && info && !info.broken ? filterPlan(filter, { param, pid: info.pid }) : LEFT_TO_MATCHER;
    plan.exact &&= fp.exact;
    if (fp.cond) {
      conditionOf.set(filter, plan.conditions.push(fp.cond) - 1);
    }
    if (fp.drivers?.length === 0) {
      plan.empty = true;
    } else if (fp.drivers) {
      const covered = fp.driversExact ? conditionOf.get(filter) : undefined;
      plan.drivers.push({ parts: fp.drivers, covers: covered === undefined ? [] : [covered] });
    }
    if (param?.table === 'date' && info && !info.broken && filter.operator !== Operator.MISSING && filter.operator !== Operator.PRESENT) {
      dateGroups.set(info.pid, [...(dateGroups.get(info.pid) ?? []), filter]);
    }
  }
  for (const [pid, filters] of dateGroups) {
    const driver = dateGroupDriver(filters, pid, ctx.dateClasses(pid));
    if (driver?.parts.length === 0) {
      plan.empty = true;
    } else if (driver) {
      const covers = driver.covers.map((f) => conditionOf.get(f)).filter((i): i is number => i !== undefined);
      plan.drivers.push({ parts: driver.parts, covers });
    }
  }
  plan.sort = resolveSort(type, request.sortRules, (code) => {
    const info = ctx.param(type, code);
    return info && !info.broken ? info.pid : undefined;
  });
  plan.order = orderBySql(plan.sort);
  plan.indexOrdered = plan.sort.length === 0 || (plan.sort.length === 1 && plan.sort[0].code === '_lastUpdated');
  return plan;
}

/** One driver option as a single subquery. */
export function driverSql(option: DriverOption): SqlPart {
  return { sql: option.parts.map((d) => d.sql).join(' UNION ALL '), params: option.parts.flatMap((d) => d.params) };
}

/** An option ranks as its worst part. */
export function optionRank(option: DriverOption): number {
  return Math.max(...option.parts.map((d) => d.rank));
}

/**
 * The FROM/WHERE of a planned search: from a chosen driver (the conditions it covers left out), or
 * from every resource of the type in index order.
 * @param plan - The plan.
 * @param driver - The chosen option, if any.
 * @returns `FROM search_resource r WHERE ...` and its parameters.
 */
export function fromWhere(plan: SearchPlan, driver: DriverOption | undefined): SqlPart {
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
  pushConditions(plan, driver, where, params);
  return { sql: `FROM search_resource r WHERE ${where.join(' AND ')}`, params };
}

/**
 * Counts the matches from a driver without reading search_resource (a parameter key implies the
 * type): its distinct rids, checked against the conditions it does not cover.
 * @param plan - The plan.
 * @param driver - The chosen option.
 * @returns The COUNT statement.
 */
export function countFromDriver(plan: SearchPlan, driver: DriverOption): SqlPart {
  const d = driverSql(driver);
  const where: string[] = [];
  const params: unknown[] = [...d.params];
  pushConditions(plan, driver, where, params);
  return { sql: `SELECT COUNT(*) AS n FROM (SELECT DISTINCT rid FROM (${d.sql})) r${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params };
}

/**
 * The FROM/WHERE over the first resources of the type in the index's order (a window whose type and
 * size are the first two parameters), every condition checked on each.
 * @param plan - The plan (indexOrdered).
 * @returns The FROM/WHERE and the conditions' parameters (after the two window parameters).
 */
export function windowedInOrder(plan: SearchPlan): SqlPart {
  const order = plan.order.sql.replaceAll('r.', '');
  const where: string[] = [];
  const params: unknown[] = [];
  pushConditions(plan, undefined, where, params);
  const window = `SELECT rid, id, last_updated FROM search_resource WHERE resource_type = ? ORDER BY ${order} LIMIT ?`;
  return { sql: `FROM (${window}) r${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params };
}

function pushConditions(plan: SearchPlan, driver: DriverOption | undefined, where: string[], params: unknown[]): void {
  plan.conditions.forEach((c, i) => {
    if (!driver?.covers.includes(i)) {
      where.push(c.sql);
      params.push(...c.params);
    }
  });
}
