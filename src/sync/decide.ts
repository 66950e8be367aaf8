/**
 * Decide: the pure functions between what the load stage read and what execute writes. The gate's
 * decision (gate.ts `decideWith`) is turned into the entry's fate here; the plan (plan.ts) into a
 * Prepared record with its write mode and Provenance context. No store, no target: inputs are the
 * loaded data, the target's capabilities, what was learned of its transactions, and the mappings.
 */
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { LedgerEntry, OutboxEntry, Settlement, StoredRecord } from '../store/port.js';
import type { DeliveryResult, Prepared } from './deliver.js';
import type { DisclosureDecision } from './gate.js';
import { HoldError } from './hold.js';
import type { LedgerKey, Plan, PlannedWrite } from './plan.js';
import type { ProvenanceContext } from './provenance.js';
import { settledKeys } from './settlements.js';
import { chooseWriteMode, type WriteMode } from './writers/index.js';

/** The gate's decision for an entry: blocked (settled at once), held, or on to the plan. */
export type Verdict = { settle: Settlement } | { hold: HoldError } | { go: true };

/** Decide: what the disclosure decision means for the entry. */
export function disclosureVerdict(entry: OutboxEntry, decision: DisclosureDecision): Verdict {
  if (decision.effect === 'deny') {
    return { settle: { entry, state: 'blocked', reason: decision.reasons.join('; '), wake: settledKeys(entry) } };
  }
  if (decision.effect === 'hold') {
    return { hold: new HoldError('no-consent', decision.reasons.join('; '), decision.waitFor ?? [], decision.recheckAt) };
  }
  return { go: true };
}

/** A hold later in the attempt (a missing Patient, a dependency) waits on what the gate's decision waits on too. */
export function withDecisionWaits(err: unknown, decision: DisclosureDecision): unknown {
  return err instanceof HoldError ? new HoldError(err.code, err.text, [...err.waitFor, ...(decision.waitFor ?? [])], err.recheckAt) : err;
}

/** The ledger keys of the consents a decision relies on (their `Consent/{id}` goes into Provenance.policy). */
export function consentLedgerKeys(consentIds: string[], ns: string): LedgerKey[] {
  return consentIds.map((id) => ({ resourceType: 'Consent', identifier: `${ns}/sid/roi|${id}` }));
}

/** `Consent/{id}` for the consents the target holds, by our ROI identifier, from the ledger entries read. */
export function consentRefsOf(consentIds: string[], ns: string, ledger: (k: LedgerKey) => LedgerEntry | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of consentLedgerKeys(consentIds, ns)) {
    const l = ledger(k);
    if (l) {
      out[k.identifier.slice(`${ns}/sid/roi|`.length)] = `Consent/${l.resourceId}`;
    }
  }
  return out;
}

/** What was learned of the target's transactions (TransactionLimits), and a forced write mode. */
export interface ModeInputs {
  atomic: boolean;
  maxEntries: number;
  /** SYNC_WRITE_MODE, when set. */
  forced?: WriteMode;
}

/** The ordered mode used instead of a transaction: batch where offered, else sequential. */
export function withoutTransactions(caps: TargetCapabilities, forced?: WriteMode): WriteMode {
  return chooseWriteMode({ ...caps, transaction: false }, forced === 'transaction' ? undefined : forced);
}

/**
 * The write mode of a record. The transaction path needs the conditional operations its entries use, on
 * every type written, a target that applies transactions all-or-nothing, and a record that fits its
 * transaction limit.
 */
export function modeFor(caps: TargetCapabilities, writes: PlannedWrite[], m: ModeInputs): WriteMode {
  const mode = chooseWriteMode(caps, m.forced);
  if (mode !== 'transaction') {
    return mode;
  }
  const conditional = writes.every((w) =>
    w.mapped.write === 'upsert' ? caps.type(w.resource.resourceType)?.conditionalUpdate : caps.type(w.resource.resourceType)?.conditionalCreate
  );
  return conditional && m.atomic && writes.length <= m.maxEntries ? 'transaction' : withoutTransactions(caps, m.forced);
}

/**
 * Decide: a planned record ready to write (its mode, its Provenance context), or at once its result
 * when nothing of it can go to this target.
 */
export function preparedOf(i: {
  record: StoredRecord;
  plan: Plan;
  caps: TargetCapabilities;
  decision: DisclosureDecision;
  consentRefs: Record<string, string>;
  mode: ModeInputs;
}): Prepared | DeliveryResult {
  const { record, plan, caps, decision, consentRefs } = i;
  if (!plan.mainWritable) {
    return { outcome: 'not-writable', reason: notWritableReason(plan), ledger: [] };
  }
  const note = partialNote(plan);
  const contextFor = (w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>): ProvenanceContext => ({
    kind: w.mapped.sourceKind,
    recordId: w.mapped.sourceId,
    recordVersion: w.recordVersion,
    ...(w.author ? { author: w.author } : {}),
    consentIds: decision.consentIds ?? [],
    consentRefs,
    ...(decision.purposeOfUse ? { purposeOfUse: decision.purposeOfUse } : {}),
  });
  return { record, plan, caps, mode: modeFor(caps, plan.writes, i.mode), ...(note ? { note } : {}), contextFor };
}

function notWritableReason(plan: Plan): string {
  return `not writable on this target: ${plan.notWritable.map((n) => n.why).join('; ') || 'nothing of this record can be written there'}; kept in our store`;
}

/** Says what of a delivered record did not go (a type the target cannot hold, references left out). */
function partialNote(plan: Plan): string | undefined {
  const parts: string[] = [];
  if (plan.notWritable.length > 0) {
    parts.push(`kept in our store: ${plan.notWritable.map((n) => `${n.resourceType} (${n.why})`).join(', ')}`);
  }
  if (plan.logical.length > 0) {
    parts.push(`${plan.logical.join(', ')} referenced by identifier only (not writable on this target)`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}
