/**
 * From a permitted record to a Prepared one (or its result when nothing of it can go): the decide stage
 * of one entry after the gate, with the plan's own reads (plan-facts.ts). The capabilities come from the
 * cache (a read of the CapabilityStatement at most once an hour); everything else it decides in
 * decide.ts and plan.ts, without I/O.
 */
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import type { Store, StoredRecord } from '../store/port.js';
import type { RecordToMap } from './context.js';
import { consentLedgerKeys, consentRefsOf, preparedOf } from './decide.js';
import type { DeliveryResult, Prepared } from './deliver.js';
import type { DisclosureDecision } from './gate.js';
import type { IdentityResolver } from './identity.js';
import { emptyFacts, ledgerFactKey, mapForPlan } from './plan.js';
import { loadAndPlan, loadLedgerFacts } from './plan-facts.js';
import { roiFormDocument } from './roi-document.js';
import type { TransactionLimits } from './transaction-limits.js';
import type { WriteMode } from './writers/index.js';

export interface PlannerOptions {
  store: Pick<Store, 'ledger' | 'status'>;
  targetName: string;
  identity: IdentityResolver;
  mappings: MappingSet;
  mappingConfig: MappingConfig;
  /** Send the signed ROI form as a DocumentReference (LOINC 64292-6) where DocumentReference is writable. */
  roiDocument: boolean;
  /** What this target's transactions turned out to be, learned while running (shared with Delivery). */
  limits: TransactionLimits;
  writeMode?: WriteMode;
}

export class Planner {
  constructor(private readonly o: PlannerOptions) {}

  /**
   * Plans one permitted record from its records (with the gate's decision in their context).
   * @throws HoldError when a reference cannot be resolved yet; OperationOutcomeError when output is invalid.
   */
  async prepare(record: StoredRecord, records: RecordToMap[], decision: DisclosureDecision, caps: TargetCapabilities): Promise<Prepared | DeliveryResult> {
    const { ns, mrnSystem } = this.o.mappingConfig;
    const extra = this.o.roiDocument && caps.can('DocumentReference', 'create') ? (item: RecordToMap) => roiFormDocument(item, ns, mrnSystem) : undefined;
    const mapped = mapForPlan(records, this.o.mappings, extra);
    const facts = emptyFacts();
    const consentIds = decision.consentIds ?? [];
    // The consents' ledger entries are read with the plan's (Provenance.policy names them on the target).
    await loadLedgerFacts(this.o.store, this.o.targetName, consentLedgerKeys(consentIds, ns), facts);
    const plan = await loadAndPlan({ store: this.o.store, targetName: this.o.targetName, identity: this.o.identity }, mapped, { caps }, facts);
    const consentRefs = consentRefsOf(consentIds, ns, (k) => facts.ledger.get(ledgerFactKey(k.resourceType, k.identifier)) ?? undefined);
    return preparedOf({
      record,
      plan,
      caps,
      decision,
      consentRefs,
      mode: { atomic: this.o.limits.atomic, maxEntries: this.o.limits.maxEntries, ...(this.o.writeMode ? { forced: this.o.writeMode } : {}) },
    });
  }
}

