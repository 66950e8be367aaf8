/**
 * Commit, the pure half: what an attempt came to (a delivery result, or the error that stopped it)
 * becomes its Settlement (settlements.ts), with the local AuditEvent of the write, and the effects the
 * worker applies to itself (pause the whole target after a 429, read the CapabilityStatement again after
 * a 405/501). The worker then hands every Settlement of a slot to one `store.outbox.settle`.
 */
import { buildWriteAudit } from '../audit/events.js';
import type { AuditEntry, OutboxEntry, Settlement, StoredRecord } from '../store/port.js';
import type { DeliveryResult } from './deliver.js';
import type { DisclosureDecision } from './gate.js';
import { dispose, type RetryPolicy } from './policy.js';
import { attemptedResources, failureSettlement, failureText, settlementOf } from './settlements.js';
import type { WriteMode } from './writers/index.js';

/** What commit needs to know besides the attempt: the target, the namespaces of the audit, the retry policy. */
export interface CommitSettings {
  ns: string;
  mrnSystem: string;
  target: string;
  targetBaseUrl: string;
  retry: RetryPolicy;
  /** The slow periodic recheck of a held record (SYNC_HELD_RECHECK_MS). */
  heldRecheckMs: number;
}

/** An attempt's settlement and what it tells the worker to do. */
export interface Committed {
  settlement: Settlement;
  /** Send nothing more to the target for this long (429, or 503 with Retry-After). */
  pauseTargetMs?: number;
  /** Our CapabilityStatement looks stale (405/501). */
  refreshCapabilities?: boolean;
  /** Not the target's answer nor a hold: a bug or a store error, logged as such (the error's name, never its text). */
  internalError?: string;
}

/** The entry, the record audited (with the client a note takes from its session) and the gate's decision. */
export interface Attempt {
  entry: OutboxEntry;
  audited: StoredRecord;
  decision: DisclosureDecision;
}

/** Clock and randomness (backoff jitter), fixed in tests. */
export interface CommitClock {
  now: number;
  random: () => number;
}

function clockOf(clock?: Partial<CommitClock>): CommitClock {
  return { now: clock?.now ?? Date.now(), random: clock?.random ?? Math.random };
}

/** The retry policy applied to a failed attempt: its settlement (held, failed or parked) and effects. */
export function commitFailure(entry: OutboxEntry, err: unknown, s: CommitSettings, audit?: AuditEntry[], clock?: Partial<CommitClock>): Committed {
  const { now, random } = clockOf(clock);
  const d = dispose(err, entry, s.retry, now, random);
  return {
    settlement: failureSettlement(entry, d, s.heldRecheckMs, audit, now),
    ...(d.action === 'retry' && d.pauseTargetMs !== undefined ? { pauseTargetMs: d.pauseTargetMs } : {}),
    ...(d.action === 'retry' && d.refreshCapabilities ? { refreshCapabilities: true } : {}),
    ...(d.action !== 'hold' && d.outcome.id === 'internal-error' ? { internalError: err instanceof Error ? err.name : typeof err } : {}),
  };
}

/** The settlement of a delivery result, with its AuditEvent (a disclosure when written, an attempt when failed). */
export function commitResult(a: Attempt, result: DeliveryResult, s: CommitSettings, clock?: Partial<CommitClock>): Committed {
  const { entry, audited, decision } = a;
  const now = clockOf(clock).now;
  if (result.outcome === 'failed') {
    const audit = writeAudit(s, audited, entry.recordVersion, attemptedResources(result), decision, new Date(now), failureText(result.error), result.mode);
    return commitFailure(entry, result.error, s, [audit], clock);
  }
  const written = result.outcome === 'written' ? result.ledger.filter((l) => l.resourceType !== 'Provenance') : [];
  const audit = result.outcome === 'written' ? [writeAudit(s, audited, entry.recordVersion, written, decision, new Date(now), undefined, result.mode)] : [];
  return { settlement: settlementOf(entry, result, audit) };
}

/** The local AuditEvent of one write (a disclosure when it succeeded). */
export function writeAudit(
  s: Pick<CommitSettings, 'ns' | 'mrnSystem' | 'target' | 'targetBaseUrl'>,
  record: StoredRecord,
  recordVersion: number,
  written: Parameters<typeof buildWriteAudit>[0]['written'],
  decision: DisclosureDecision,
  now: Date,
  failure?: string,
  interaction?: WriteMode
): AuditEntry {
  return buildWriteAudit({
    ns: s.ns,
    mrnSystem: s.mrnSystem,
    clientMrn: record.clientMrn,
    kind: record.kind,
    recordId: record.id,
    recordVersion,
    target: s.target,
    targetBaseUrl: s.targetBaseUrl,
    written,
    success: failure === undefined,
    failure,
    consentIds: decision.consentIds,
    purposeOfUse: decision.purposeOfUse,
    exceptionReason: decision.exceptionReason,
    ...(interaction ? { interaction } : {}),
    now,
  });
}
