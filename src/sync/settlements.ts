/**
 * Turns what an attempt did into its Settlement (the outbox outcome the store records in one
 * transaction) and the wake-ups it causes, as pure functions: the worker decides nothing here and the
 * store learns nothing about sync semantics beyond the Settlement.
 */
import { buildWriteAudit } from '../audit/events.js';
import { toOutcome } from '../outcomes.js';
import type { AuditEntry, LedgerEntry, OutboxEntry, Settlement } from '../store/port.js';
import type { DeliveryResult } from './deliver.js';
import type { Disposition } from './policy.js';
import { clientKeyOf, depKey, ledgerKey } from './wait-keys.js';

/** Hold codes of the target's identity lookup: released when a record of the same client reaches the target. */
const IDENTITY_CODES = new Set(['patient-not-found', 'patient-ambiguous', 'practitioner-not-found', 'practitioner-ambiguous']);

/** What dependents of this record may be waiting for once its delivery settled (anything but a retry). */
export function settledKeys(entry: OutboxEntry): string[] {
  return [depKey(entry.kind, entry.recordId)];
}

/** What a record reaching the target releases: its dependents, its client's identity holds, references to its resources. */
export function deliveredKeys(entry: OutboxEntry, ledger: LedgerEntry[]): string[] {
  return [...settledKeys(entry), clientKeyOf(entry.clientKey), ...ledger.filter((l) => l.resourceType !== 'Provenance').map((l) => ledgerKey(l.resourceType, l.identifier))];
}

/** The settlement of a delivery result that is not a failure. */
export function settlementOf(
  entry: OutboxEntry,
  result: Exclude<DeliveryResult, { outcome: 'failed' }>,
  audit: AuditEntry[]
): Settlement {
  switch (result.outcome) {
    case 'unchanged':
      return { entry, state: 'synced', ledger: result.ledger, ...(result.note ? { note: result.note } : {}), wake: deliveredKeys(entry, []) };
    case 'not-writable':
      return { entry, state: 'not-writable', reason: result.reason, ledger: result.ledger, wake: settledKeys(entry) };
    case 'written':
      return { entry, state: 'synced', ledger: result.ledger, ...(result.note ? { note: result.note } : {}), audit, wake: deliveredKeys(entry, result.ledger) };
  }
}

/**
 * The settlement of a failed attempt, by the retry policy's disposition.
 * @param heldRecheckMs - the slow periodic recheck of a held record (SYNC_HELD_RECHECK_MS).
 */
export function failureSettlement(entry: OutboxEntry, d: Disposition, heldRecheckMs: number, audit: AuditEntry[] | undefined, now = Date.now()): Settlement {
  const extra = audit && audit.length > 0 ? { audit } : {};
  if (d.action === 'hold') {
    const recheck = Math.min(now + heldRecheckMs, d.recheckAt?.getTime() ?? Number.POSITIVE_INFINITY);
    const waitFor = [...d.waitFor, ...(IDENTITY_CODES.has(d.code) ? [clientKeyOf(entry.clientKey)] : [])];
    // A held dependency may now go along with its dependents (they waited for it to go first).
    return { entry, state: 'held', reason: d.reason, code: d.code, recheckAt: new Date(recheck), waitFor, wake: settledKeys(entry), ...extra };
  }
  if (d.action === 'dead-letter') {
    return { entry, state: 'dead-letter', reason: d.reason, code: d.code, outcome: d.outcome, wake: settledKeys(entry), ...extra };
  }
  return {
    entry,
    state: 'failed',
    reason: d.reason,
    code: d.code,
    nextAttemptAt: new Date(now + d.delayMs),
    outcome: d.outcome,
    countFailure: d.countFailure,
    ...extra,
  };
}

/** The resources named in the audit of a failed write: what reached the target by id, the rest by type. */
export function attemptedResources(result: Extract<DeliveryResult, { outcome: 'failed' }>): Parameters<typeof buildWriteAudit>[0]['written'] {
  const done = new Set(result.ledger.map((l) => `${l.resourceType}|${l.identifier}`));
  return [
    ...result.ledger.filter((l) => l.resourceType !== 'Provenance'),
    ...result.attempted
      .map((w) => ({ resourceType: w.resource.resourceType, resourceId: '', versionId: '', identifier: `${w.mapped.key.system}|${w.mapped.key.value}` }))
      .filter((w) => !done.has(`${w.resourceType}|${w.identifier}`)),
  ];
}

/** The failure text of an attempt for its audit entry (the outcome's id and first text; no PHI). */
export function failureText(error: unknown): string {
  const outcome = toOutcome(error);
  return `${outcome.id ?? 'error'}: ${outcome.issue?.[0]?.details?.text ?? ''}`;
}
