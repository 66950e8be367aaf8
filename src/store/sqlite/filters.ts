/**
 * The DeliveryFilter as SQL, shared by the status lists and the operator's retry. Only the fields given
 * become conditions (a `(@x IS NULL OR col = @x)` form would keep SQLite from using any index), each on
 * an indexed column, so a list costs what it matches. One statement per combination of fields, each
 * prepared once.
 */
import { RECORD_KINDS } from '../../domain/records.js';
import type { DeliveryFilter, SyncStateName } from '../types.js';

const ALL_STATES: SyncStateName[] = ['pending', 'synced', 'held', 'failed', 'blocked', 'dead-letter', 'not-writable'];
const quoted = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

export interface FilterSql {
  /** Conditions to AND together. */
  where: string[];
  params: Record<string, string>;
}

/**
 * Conditions on a sync_state alias `s` and a records alias `r` (joined on kind and id).
 * @param states - the states to select (one or more); every state when absent but a reason is given,
 *   so the (state, reason_code) index still applies.
 */
export function stateFilterSql(f: DeliveryFilter, states?: readonly string[]): FilterSql {
  const where: string[] = [];
  const params: Record<string, string> = {};
  const wanted = states ?? (f.reasonCode !== undefined ? ALL_STATES : undefined);
  // With a record or a client given, that index is the selective one: `+column` keeps SQLite (which has
  // no statistics here) from driving the query by the state instead.
  const s = f.recordId !== undefined || f.clientMrn !== undefined ? '+s' : 's';
  if (wanted) {
    where.push(wanted.length === 1 ? `${s}.state = '${wanted[0]}'` : `${s}.state IN (${quoted(wanted)})`);
  }
  if (f.reasonCode !== undefined) {
    where.push(`${s}.reason_code = @code`);
    params.code = f.reasonCode;
  }
  recordConditions('s', f, where, params);
  return { where, params };
}

/** Conditions on an outbox alias `o` and a records alias `r`, plus a sync_state alias `s` for the reason. */
export function outboxFilterSql(f: DeliveryFilter, state: string): FilterSql {
  const where: string[] = [];
  const params: Record<string, string> = {};
  if (f.reasonCode !== undefined) {
    const s = f.recordId !== undefined || f.clientMrn !== undefined ? '+s' : 's';
    where.push(`${s}.state = '${state}'`, `${s}.reason_code = @code`);
    params.code = f.reasonCode;
  }
  recordConditions('o', f, where, params);
  return { where, params };
}

function recordConditions(alias: string, f: DeliveryFilter, where: string[], params: Record<string, string>): void {
  if (f.target !== undefined) {
    where.push(`${alias}.target = @target`);
    params.target = f.target;
  }
  if (f.kind !== undefined) {
    where.push(`${alias}.kind = @kind`);
    params.kind = f.kind;
  } else if (f.recordId !== undefined) {
    // The (kind, record_id, ...) keys need the kind: any kind, as index seeks.
    where.push(`${alias}.kind IN (${quoted(RECORD_KINDS)})`);
  }
  if (f.recordId !== undefined) {
    where.push(`${alias}.record_id = @recordId`);
    params.recordId = f.recordId;
  }
  if (f.clientMrn !== undefined) {
    where.push('r.client_mrn = @mrn');
    params.mrn = f.clientMrn;
  }
}

/** `WHERE a AND b ...`, or nothing. */
export function whereClause(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
