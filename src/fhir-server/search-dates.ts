/**
 * Date filters over search_date. The condition mirrors medplum's matchesDateValue: a stored value is
 * the [low, high] pair medplum's toPeriod gives ('0000'/'9999' for an open end) and a filter value is
 * toPeriod(value) = [fs, fe]; the prefixes compare them as strings:
 *   eq/ap/ne: low < fe AND high > fs    lt: low < fs    gt: high > fe    le: low <= fe
 *   ge: high >= fs    sa: low > fe    eb: high < fs    (anything else never matches)
 *
 * Finding candidates: a window such as `date=ge2024-03-01&date=lt2024-03-08` constrains `high` from
 * below and `low` from above, which no single B-tree order serves. So each value has a span class k
 * (its width is at most 2^k ms, search-extract.ts), and within class k `high >= X` implies
 * `low >= X - 2^k`: the search reads, per class present, one bounded range of the (pid, span, low)
 * index. Open-ended values and resources with several values have their own classes, read with the
 * bounds that still hold for them; the per-filter condition then decides exactly.
 */
import type { Filter } from '@medplum/core';
import { Operator, splitSearchOnComma, toPeriod } from '@medplum/core';
import { OperationOutcomeError, badRequest } from '@medplum/core';
import { MAX_BOUNDED_CLASS, MULTI_CLASS, UNBOUNDED_CLASS } from './search-extract.js';
import type { Driver, FilterPlan, SqlPart } from './search-sql-parts.js';
import { NEVER, Rank, existsIn, isNegated, signed } from './search-sql-parts.js';

type Column = 'low' | 'high';
type Comparison = '<' | '<=' | '>' | '>=';

/** One comparison of a stored bound with a filter bound. */
interface Constraint {
  column: Column;
  op: Comparison;
  value: string;
}

/** The comparisons one filter value stands for; [] = never matches. */
function constraintsFor(operator: Operator, fs: string, fe: string): Constraint[] {
  switch (operator) {
    case Operator.APPROXIMATELY:
    case Operator.EQUALS:
    case Operator.NOT_EQUALS:
      return [
        { column: 'low', op: '<', value: fe },
        { column: 'high', op: '>', value: fs },
      ];
    case Operator.LESS_THAN:
      return [{ column: 'low', op: '<', value: fs }];
    case Operator.GREATER_THAN:
      return [{ column: 'high', op: '>', value: fe }];
    case Operator.LESS_THAN_OR_EQUALS:
      return [{ column: 'low', op: '<=', value: fe }];
    case Operator.GREATER_THAN_OR_EQUALS:
      return [{ column: 'high', op: '>=', value: fs }];
    case Operator.STARTS_AFTER:
      return [{ column: 'low', op: '>', value: fe }];
    case Operator.ENDS_BEFORE:
      return [{ column: 'high', op: '<', value: fs }];
    default:
      return [];
  }
}

/** The alternatives of a filter (comma-separated values), each a conjunction of constraints. */
function alternatives(filter: Filter): Constraint[][] {
  return splitSearchOnComma(filter.value).flatMap((part) => {
    let period;
    try {
      period = toPeriod(part);
    } catch {
      throw new OperationOutcomeError(badRequest(`Invalid date in search parameter ${filter.code}`, filter.code));
    }
    if (!period?.start || !period.end) {
      return []; // the matcher: no period, no match
    }
    const constraints = constraintsFor(filter.operator, period.start, period.end);
    return constraints.length ? [constraints] : [];
  });
}

function toSql(conjunction: Constraint[], prefix: string): SqlPart {
  return {
    sql: conjunction.map((c) => `${prefix}${c.column} ${c.op} ?`).join(' AND '),
    params: conjunction.map((c) => c.value),
  };
}

/**
 * The exact condition of one date filter.
 * @param filter - A date filter (not :missing).
 * @param pid - Its parameter's key.
 * @returns Its plan (its drivers come from dateGroupDriver, for all the filters on the parameter at once).
 */
export function dateFilterPlan(filter: Filter, pid: number): FilterPlan {
  const negated = isNegated(filter.operator);
  const alts = alternatives(filter).map((conjunction) => toSql(conjunction, 'x.'));
  if (alts.length === 0) {
    return signed(negated, NEVER, true, []);
  }
  // The unary + keeps SQLite on the primary key (rid, pid): without it, it may prefer the
  // (pid, span, low) index, which reads every row of the parameter for each candidate.
  const clause = `+x.span >= 0 AND (${alts.map((a) => `(${a.sql})`).join(' OR ')})`;
  const exists = existsIn('date', pid, clause, alts.flatMap((a) => a.params));
  return signed(negated, exists, true, undefined);
}

/**
 * A driver for the positive date filters on one parameter (each with one value), read per span class.
 * @param filters - Filters on the same parameter.
 * @param pid - The parameter's key.
 * @param classes - The span classes present for it (search_date_class).
 * @returns The driver and the filters whose conditions it makes redundant (those it applies exactly,
 *   when no resource has several values); parts [] when no resource can match; undefined when these
 *   filters cannot drive.
 */
export function dateGroupDriver(filters: Filter[], pid: number, classes: number[]): { parts: Driver[]; covers: Filter[] } | undefined {
  const usable = filters.filter(
    (f) => !isNegated(f.operator) && splitSearchOnComma(f.value).length === 1
  );
  if (usable.length === 0) {
    return undefined;
  }
  const conjunctions = usable.map(alternatives);
  if (conjunctions.some((alts) => alts.length === 0)) {
    return { parts: [], covers: [] }; // a filter that never matches
  }
  const all = conjunctions.map((alts) => alts[0]);
  const parts: SqlPart[] = [];
  let rank: number = Rank.DATE_WINDOW;
  for (const k of classes) {
    // Within one single-valued class every constraint holds on the same row; a multi-valued
    // resource may satisfy each filter with a different value, so there only the first one applies.
    const rowConstraints = k === MULTI_CLASS ? all[0] : all.flat();
    const range = lowRange(rowConstraints, k);
    const where = [`pid = ?`, `span = ?`];
    const params: unknown[] = [pid, k];
    if (range.min !== undefined) {
      where.push('low >= ?');
      params.push(range.min);
    }
    if (range.max !== undefined) {
      where.push('low <= ?');
      params.push(range.max);
    }
    const conds = toSql(rowConstraints, '');
    parts.push({ sql: `SELECT rid FROM search_date WHERE ${where.join(' AND ')} AND ${conds.sql}`, params: [...params, ...conds.params] });
    if (range.min === undefined && range.max === undefined) {
      rank = Math.max(rank, Rank.PARAM_SCAN);
    } else if (range.min === undefined || range.max === undefined) {
      rank = Math.max(rank, Rank.DATE_OPEN);
    }
  }
  if (parts.length === 0) {
    return { parts: [], covers: [] }; // no stored value at all
  }
  const driver = { sql: parts.map((p) => p.sql).join(' UNION ALL '), params: parts.flatMap((p) => p.params), rank };
  return { parts: [driver], covers: classes.includes(MULTI_CLASS) ? [] : usable };
}

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Inclusive bounds on `low` implied by the constraints in span class k (a superset is fine: the exact
 * conditions are applied too). Bounds are only derived from 24-character UTC instants, where string
 * order is time order.
 */
function lowRange(constraints: Constraint[], k: number): { min?: string; max?: string } {
  const bounded = k >= 0 && k <= MAX_BOUNDED_CLASS;
  let min: string | undefined;
  let max: string | undefined;
  const raise = (v: string | undefined): void => {
    if (v !== undefined && (min === undefined || v > min)) {
      min = v;
    }
  };
  const lower = (v: string | undefined): void => {
    if (v !== undefined && (max === undefined || v < max)) {
      max = v;
    }
  };
  for (const c of constraints) {
    if (!ISO_INSTANT.test(c.value)) {
      continue;
    }
    const from = c.op === '>' || c.op === '>=';
    if (c.column === 'low') {
      if (from) {
        raise(c.value);
      } else {
        lower(c.value);
      }
    } else if (bounded && k !== UNBOUNDED_CLASS) {
      // low <= high <= low + 2^k in a bounded class.
      if (from) {
        raise(shift(c.value, -(2 ** k)));
      } else {
        lower(c.value);
      }
    }
  }
  return { min, max };
}

function shift(instant: string, ms: number): string | undefined {
  const t = Date.parse(instant) + ms;
  if (Number.isNaN(t)) {
    return undefined;
  }
  const shifted = new Date(t).toISOString();
  return ISO_INSTANT.test(shifted) ? shifted : undefined;
}
