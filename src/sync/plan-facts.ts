/**
 * Load, for the plan (plan.ts): the ledger entries of every resource the mapped records produce or
 * reference, read together before planning; then, only where the plan gets to them, the sync state of a
 * dependency not on the target yet and the Patient or Practitioner looked up on the target (a search,
 * IdentityResolver). The plan is asked again with what was read until it can be made.
 */
import type { Store } from '../store/port.js';
import type { IdentityResolver } from './identity.js';
import { emptyFacts, identityFactKey, type LedgerKey, ledgerFactKey, type MappedItem, type Plan, type PlanFacts, type PlanNeeds, type PlanOptions, planLedgerKeys, planWrites } from './plan.js';

export interface PlanLoadDeps {
  store: Pick<Store, 'ledger' | 'status'>;
  targetName: string;
  identity: IdentityResolver;
}

/** Reads ledger entries into the facts (absent ones as null), those not read yet, in one read. */
export async function loadLedgerFacts(store: Pick<Store, 'ledger'>, targetName: string, keys: LedgerKey[], facts: PlanFacts): Promise<void> {
  const wanted = new Map<string, LedgerKey>();
  for (const k of keys) {
    const key = ledgerFactKey(k.resourceType, k.identifier);
    if (!facts.ledger.has(key)) {
      wanted.set(key, k);
    }
  }
  if (wanted.size === 0) {
    return;
  }
  const found = new Map((await store.ledger.getLedgerByIdentifiers(targetName, [...wanted.values()])).map((l) => [ledgerFactKey(l.resourceType, l.identifier), l]));
  for (const key of wanted.keys()) {
    facts.ledger.set(key, found.get(key) ?? null);
  }
}

/**
 * Reads what a plan asked for. The store's facts first, and the plan is asked again before anything is
 * looked up on the target: a dependency queued to go first holds the record at once, without searches
 * (and without seconds between reading its state and the hold, during which its own settlement's
 * wake-up would pass unseen). Identity lookups go in the order asked and stop at the first that fails
 * (it decides the attempt).
 */
async function loadNeeds(d: PlanLoadDeps, needs: PlanNeeds, facts: PlanFacts): Promise<void> {
  if (needs.ledger.length > 0 || needs.states.length > 0) {
    await loadLedgerFacts(d.store, d.targetName, needs.ledger, facts);
    for (const r of needs.states) {
      const state = (await d.store.status.getSyncStates(r.kind, r.id)).find((s) => s.target === d.targetName);
      facts.states.set(`${r.kind}/${r.id}`, state?.state);
    }
    return;
  }
  for (const ref of needs.identities) {
    try {
      facts.identities.set(identityFactKey(ref), { reference: await d.identity.resolve(ref) });
    } catch (error) {
      facts.identities.set(identityFactKey(ref), { error });
      break;
    }
  }
  // A search on the target can take seconds: what was not on the target before it is read again, so a
  // resource another client's record wrote meanwhile is seen (a hold on it would wait for a wake-up
  // that has already happened).
  await refreshAbsent(d, facts);
}

/** Reads again, in one read, the ledger keys read as absent. */
async function refreshAbsent(d: PlanLoadDeps, facts: PlanFacts): Promise<void> {
  const absent: LedgerKey[] = [];
  for (const [key, entry] of facts.ledger) {
    if (entry === null) {
      const bar = key.indexOf('|');
      absent.push({ resourceType: key.slice(0, bar), identifier: key.slice(bar + 1) });
    }
  }
  if (absent.length === 0) {
    return;
  }
  for (const l of await d.store.ledger.getLedgerByIdentifiers(d.targetName, absent)) {
    facts.ledger.set(ledgerFactKey(l.resourceType, l.identifier), l);
  }
}

/**
 * Loads the facts the plan of `mapped` needs and makes it (load and decide in turn: usually one read of
 * the ledger, then the plan).
 * @param facts - facts already read (the consents' ledger entries, read with the others).
 * @throws as planWrites (HoldError, OperationOutcomeError), or the store's or target's error.
 */
export async function loadAndPlan(d: PlanLoadDeps, mapped: MappedItem[], options: PlanOptions, facts: PlanFacts = emptyFacts()): Promise<Plan> {
  await loadLedgerFacts(d.store, d.targetName, planLedgerKeys(mapped), facts);
  for (;;) {
    const step = planWrites(mapped, facts, options);
    if ('plan' in step) {
      return step.plan;
    }
    await loadNeeds(d, step.needs, facts);
  }
}
