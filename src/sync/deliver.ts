/**
 * Delivery of one permitted record to the target, after the disclosure gate: plan from the target's
 * capabilities, choose the writer (transaction, batch or sequential), write, and say what happened.
 * The worker turns the result into the record's state; errors before anything was sent (a HoldError,
 * invalid output, an unreadable CapabilityStatement) are thrown to it as they are.
 */
import type { CapabilityCache, TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import type { MappingConfig, MappingSet } from '../mapping/index.js';
import type { LedgerEntry, Store, StoredRecord } from '../store/port.js';
import type { RecordToMap } from './context.js';
import type { DisclosureDecision } from './gate.js';
import type { IdentityResolver } from './identity.js';
import { type Plan, type PlannedWrite, planWrites } from './plan.js';
import type { ProvenanceContext, ProvenanceSettings } from './provenance.js';
import { roiFormDocument } from './roi-document.js';
import { chooseWriteMode, type WriteMode, provenanceInTransaction, sendTransaction, writeOrdered } from './writers/index.js';
import { NotWritableError } from './writers/errors.js';
import { ensureProvenance } from './writers/provenance-step.js';

export interface DeliveryOptions {
  store: Pick<Store, 'ledger' | 'status'>;
  target: FhirTarget;
  capabilities: CapabilityCache;
  identity: IdentityResolver;
  mappings: MappingSet;
  mappingConfig: MappingConfig;
  provenance: ProvenanceSettings;
  /** Send the signed ROI form as a DocumentReference (LOINC 64292-6) where DocumentReference is writable. */
  roiDocument: boolean;
  /** Force a write mode the target supports (SYNC_WRITE_MODE); automatic otherwise. */
  writeMode?: WriteMode;
}

/** What the attempt did. */
export type DeliveryResult =
  | { outcome: 'unchanged'; ledger: LedgerEntry[]; note?: string }
  | { outcome: 'written'; mode: WriteMode; ledger: LedgerEntry[]; note?: string }
  | { outcome: 'not-writable'; reason: string; ledger: LedgerEntry[] }
  | { outcome: 'failed'; mode: WriteMode; error: unknown; attempted: PlannedWrite[]; ledger: LedgerEntry[] };

export class Delivery {
  constructor(private readonly o: DeliveryOptions) {}

  async deliver(record: StoredRecord, records: RecordToMap[], decision: DisclosureDecision): Promise<DeliveryResult> {
    const caps = await this.o.capabilities.get();
    const { ns, mrnSystem } = this.o.mappingConfig;
    const plan = await planWrites(records, this.o.mappings, this.o.store, this.o.target.name, this.o.identity, {
      caps,
      ...(this.o.roiDocument && caps.can('DocumentReference', 'create') ? { extra: (item: RecordToMap) => roiFormDocument(item, ns, mrnSystem) } : {}),
    });
    if (!plan.mainWritable) {
      return { outcome: 'not-writable', reason: notWritableReason(plan), ledger: [] };
    }
    const note = partialNote(plan);
    const consentRefs = await this.consentRefs(decision.consentIds ?? []);
    const contextFor = (w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>): ProvenanceContext => ({
      kind: w.mapped.sourceKind,
      recordId: w.mapped.sourceId,
      recordVersion: w.recordVersion,
      ...(w.author ? { author: w.author } : {}),
      consentIds: decision.consentIds ?? [],
      consentRefs,
      ...(decision.purposeOfUse ? { purposeOfUse: decision.purposeOfUse } : {}),
    });
    if (plan.writes.length === 0) {
      // Nothing to send; a Provenance an interrupted attempt did not get to write is written now.
      const ledger = await this.provenanceOfUnchanged(plan, caps, contextFor);
      return { outcome: 'unchanged', ledger, ...(note ? { note } : {}) };
    }
    const mode = this.modeFor(caps, plan.writes);
    const written: LedgerEntry[] = [];
    try {
      if (mode === 'transaction') {
        const withProvenance = provenanceInTransaction(caps);
        written.push(
          ...(await sendTransaction(this.o.target, plan.writes, withProvenance ? { settings: this.o.provenance, contextFor } : undefined))
        );
        if (!withProvenance) {
          await this.o.store.ledger.recordLedger(written);
          for (const [i, w] of plan.writes.entries()) {
            const prov = await ensureProvenance(written[i], !w.existing, contextFor(w), this.provenanceDeps(caps));
            if (prov) {
              written.push(prov);
            }
          }
        }
      } else {
        written.push(
          ...(await writeOrdered(
            plan.writes,
            { target: this.o.target, caps, store: this.o.store, provenance: { settings: this.o.provenance, contextFor } },
            mode === 'batch'
          ))
        );
      }
    } catch (err) {
      if (err instanceof NotWritableError) {
        return { outcome: 'not-writable', reason: err.text, ledger: await this.o.store.ledger.getLedgerForRecord(this.o.target.name, record.kind, record.id) };
      }
      return { outcome: 'failed', mode, error: err, attempted: plan.writes, ledger: written };
    }
    return { outcome: 'written', mode, ledger: written, ...(note ? { note } : {}) };
  }

  /** Reads the CapabilityStatement again on the next attempt (a 405/501 says ours is stale). */
  refreshCapabilities(): void {
    this.o.capabilities.invalidate();
  }

  /** The transaction path needs the conditional operations its entries use, on every type written. */
  private modeFor(caps: TargetCapabilities, writes: PlannedWrite[]): WriteMode {
    const mode = chooseWriteMode(caps, this.o.writeMode);
    if (mode !== 'transaction') {
      return mode;
    }
    const conditional = writes.every((w) =>
      w.mapped.write === 'upsert' ? caps.type(w.resource.resourceType)?.conditionalUpdate : caps.type(w.resource.resourceType)?.conditionalCreate
    );
    return conditional ? 'transaction' : chooseWriteMode({ ...caps, transaction: false }, this.o.writeMode === 'transaction' ? undefined : this.o.writeMode);
  }

  private provenanceDeps(caps: TargetCapabilities): Parameters<typeof ensureProvenance>[3] {
    return { targetName: this.o.target.name, caps, store: this.o.store, exec: this.o.target, settings: this.o.provenance };
  }

  private async provenanceOfUnchanged(
    plan: Plan,
    caps: TargetCapabilities,
    contextFor: (w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>) => ProvenanceContext
  ): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const l of plan.unchanged) {
      const context = contextFor({
        mapped: { sourceKind: l.kind, sourceId: l.recordId } as PlannedWrite['mapped'],
        recordVersion: l.recordVersion,
        ...(plan.mainAuthor ? { author: plan.mainAuthor } : {}),
      });
      // Whether that write created the resource is not remembered; version 1 is the best evidence.
      const prov = await ensureProvenance(l, l.versionId === '1', context, this.provenanceDeps(caps));
      if (prov) {
        out.push(prov);
      }
    }
    return out;
  }

  /** `Consent/{id}` for the consents the target holds (Provenance.policy), by our ROI identifier. */
  private async consentRefs(ids: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const id of ids) {
      const l = await this.o.store.ledger.getLedgerByIdentifier(this.o.target.name, 'Consent', `${this.o.mappingConfig.ns}/sid/roi|${id}`);
      if (l) {
        out[id] = `Consent/${l.resourceId}`;
      }
    }
    return out;
  }
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
