/**
 * The DeliveryFilter as SQL with positional parameters, shared by the status lists and the operator's
 * retry. Only the fields given become conditions, each on an indexed column, so a list costs what it
 * matches.
 */
import { RECORD_KINDS } from '../../domain/records.js';
import type { DeliveryFilter, SyncStateName } from '../types.js';

const ALL_STATES: SyncStateName[] = ['pending', 'synced', 'held', 'failed', 'blocked', 'dead-letter', 'not-writable'];

export interface PgFilter {
  /** Conditions to AND together. */
  where: string[];
  /** Values of $first, $first+1, ... in order. */
  params: unknown[];
}

/** Adds a parameter and returns its placeholder. */
function param(f: PgFilter, first: number, value: unknown): string {
  f.params.push(value);
  return `$${first + f.params.length - 1}`;
}

/**
 * Conditions on a sync_state alias `s` and a records alias `r` (joined on kind and id).
 * @param first - the number of the first placeholder.
 */
export function stateFilter(filter: DeliveryFilter, states: readonly string[] | undefined, first: number): PgFilter {
  const f: PgFilter = { where: [], params: [] };
  const wanted = states ?? (filter.reasonCode !== undefined ? ALL_STATES : undefined);
  if (wanted) {
    // One state as an equality: the (state, reason_code, updated_at) index then also gives the order.
    f.where.push(wanted.length === 1 ? `s.state = ${param(f, first, wanted[0])}` : `s.state = ANY(${param(f, first, wanted)}::text[])`);
  }
  if (filter.reasonCode !== undefined) {
    f.where.push(`s.reason_code = ${param(f, first, filter.reasonCode)}`);
  }
  recordConditions(f, 's', filter, first);
  return f;
}

/** Conditions on an outbox alias `o` and a records alias `r`, plus a sync_state alias `s` for the reason. */
export function outboxFilter(filter: DeliveryFilter, state: string, first: number): PgFilter {
  const f: PgFilter = { where: [], params: [] };
  if (filter.reasonCode !== undefined) {
    f.where.push(`s.state = ${param(f, first, state)}`, `s.reason_code = ${param(f, first, filter.reasonCode)}`);
  }
  recordConditions(f, 'o', filter, first);
  return f;
}

function recordConditions(f: PgFilter, alias: string, filter: DeliveryFilter, first: number): void {
  if (filter.target !== undefined) {
    f.where.push(`${alias}.target = ${param(f, first, filter.target)}`);
  }
  if (filter.kind !== undefined) {
    f.where.push(`${alias}.kind = ${param(f, first, filter.kind)}`);
  } else if (filter.recordId !== undefined) {
    // The (kind, record_id, ...) keys need the kind: any kind, as index seeks.
    f.where.push(`${alias}.kind = ANY(${param(f, first, RECORD_KINDS)}::text[])`);
  }
  if (filter.recordId !== undefined) {
    f.where.push(`${alias}.record_id = ${param(f, first, filter.recordId)}`);
  }
  if (filter.clientMrn !== undefined) {
    f.where.push(`r.client_mrn = ${param(f, first, filter.clientMrn)}`);
  }
}

/** `WHERE a AND b ...`, or nothing. */
export function whereClause(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
