/**
 * The Provenances Delivery writes besides those of a new write (writers/provenance-step.ts does each
 * one, at most once): of the resources a record finds unchanged on the target, and of the versions a
 * record's new version supersedes, settled before that version goes (docs/sync.md section 7).
 */
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import type { LedgerEntry, Store } from '../store/port.js';
import type { Plan, PlannedWrite } from './plan.js';
import type { ProvenanceContext, ProvenanceSettings } from './provenance.js';
import { BatchExecutor, type Executor } from './writers/exec.js';
import { ensureProvenance, type ProvenanceStepDeps } from './writers/provenance-step.js';

/** Builds the Provenance context of one write of a record (Delivery's Prepared.contextFor). */
export type ContextFor = (w: Pick<PlannedWrite, 'mapped' | 'recordVersion' | 'author'>) => ProvenanceContext;

/** What settling one record's superseded versions gave: the Provenance entries, or why it failed. */
export type Settled = { ok: true; entries: LedgerEntry[] } | { ok: false; error: unknown };

export class ProvenanceWrites {
  constructor(
    private readonly o: { target: FhirTarget; store: Pick<Store, 'ledger'>; settings: ProvenanceSettings; maxBundleEntries: number }
  ) {}

  /** Where several records' Provenances go: shared batch Bundles where the target takes them, else one request each. */
  executor(caps: TargetCapabilities): Executor {
    return caps.batch ? new BatchExecutor(this.o.target, this.o.maxBundleEntries) : this.o.target;
  }

  /** The Provenance step's dependencies, requests through `exec`. */
  deps(caps: TargetCapabilities, exec: Executor = this.o.target): ProvenanceStepDeps {
    return { targetName: this.o.target.name, caps, store: this.o.store, exec, settings: this.o.settings };
  }

  /** Ensures the Provenance of each ledger entry's version, one after the other. @returns the entries written or found now. */
  async ofEntries(entries: LedgerEntry[], plan: Plan, caps: TargetCapabilities, contextFor: ContextFor, exec?: Executor): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const l of entries) {
      const context = contextFor({
        mapped: { sourceKind: l.kind, sourceId: l.recordId } as PlannedWrite['mapped'],
        recordVersion: l.recordVersion,
        ...(plan.mainAuthor ? { author: plan.mainAuthor } : {}),
      });
      // Whether that write created the resource is not remembered; version 1 is the best evidence.
      const prov = await ensureProvenance(l, l.versionId === '1', context, this.deps(caps, exec));
      if (prov) {
        out.push(prov);
      }
    }
    return out;
  }

  /**
   * Settles the Provenance of every resource version the records' new versions supersede, before those
   * go. A Provenance whose create had an unknown outcome (answer lost, or kill -9 before the ledger
   * learned it) is found by its tag now, while the ledger still names that version; once the new version
   * is written nothing would look for it again, and the target would hold a Provenance the ledger does
   * not know. One that was never written is written now: every version the target confirmed is attested.
   * Usually the ledger knows it already and nothing is sent.
   * @returns Per record, in order, the Provenance entries written or found now, or the error.
   */
  async settleSuperseded(records: { plan: Plan; caps: TargetCapabilities; contextFor: ContextFor }[]): Promise<Settled[]> {
    const exec = records.some((r) => r.plan.superseded.length > 0) ? this.executor(records[0].caps) : undefined;
    return Promise.all(
      records.map(async (r): Promise<Settled> => {
        try {
          return { ok: true, entries: await this.ofEntries(r.plan.superseded, r.plan, r.caps, r.contextFor, exec) };
        } catch (error) {
          return { ok: false, error };
        }
      })
    );
  }
}
