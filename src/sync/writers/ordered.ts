/**
 * Writes without a transaction, in dependency order (docs/fhir-mapping.md#what-each-target-profile-accepts: RelatedPerson ->
 * Encounter -> DocumentReference -> Provenance). Each resource that reaches the target goes into the
 * ledger at once, so a failure later on (or a kill -9) leaves a ledger that matches the server and the
 * next attempt resumes at the failed step instead of writing again.
 *
 * Sequential: one request at a time. Batch: the writes of one dependency level (which do not reference
 * each other) run together through a BatchExecutor, one batch Bundle per round of requests.
 */
import type { FhirTarget } from '../../fhir/port.js';
import type { TargetCapabilities } from '../../fhir/capabilities.js';
import type { LedgerEntry, Store } from '../../store/port.js';
import type { PlannedWrite } from '../plan.js';
import type { ProvenanceContext, ProvenanceSettings } from '../provenance.js';
import { forEachReference, rewriteReferences } from '../references.js';
import { BatchExecutor, type Executor } from './exec.js';
import { ensureProvenance } from './provenance-step.js';
import { writeOne } from './write-one.js';

export interface OrderedWriteDeps {
  target: FhirTarget;
  caps: TargetCapabilities;
  store: Pick<Store, 'ledger'>;
  provenance?: { settings: ProvenanceSettings; contextFor(w: PlannedWrite): ProvenanceContext };
  /** A batch executor shared with other records delivered together (their requests share batch Bundles). */
  batchExecutor?: BatchExecutor;
}

/**
 * Writes the planned resources and returns every ledger entry made (resources and Provenances).
 * @param batch - run each dependency level as batch Bundles instead of one request at a time.
 * @throws the first failure (after recording whatever did reach the target).
 */
export async function writeOrdered(writes: PlannedWrite[], d: OrderedWriteDeps, batch: boolean): Promise<LedgerEntry[]> {
  const exec: Executor = batch ? (d.batchExecutor ?? new BatchExecutor(d.target)) : d.target;
  const written = new Map<string, string>(); // urn:uuid -> Type/id
  const out: LedgerEntry[] = [];
  const one = async (w: PlannedWrite): Promise<void> => {
    const resource = rewriteReferences(w.resource, (r) => written.get(r) ?? r);
    const result = await writeOne(w, resource, { targetName: d.target.name, caps: d.caps, store: d.store, exec });
    await d.store.ledger.recordLedger([result.entry]);
    written.set(w.fullUrl, `${result.entry.resourceType}/${result.entry.resourceId}`);
    out.push(result.entry);
    if (d.provenance && result.ours) {
      // A version 1 found after a lost answer was our create too.
      const created = result.created || (!result.wrote && result.entry.versionId === '1');
      const prov = await ensureProvenance(result.entry, created, d.provenance.contextFor(w), {
        targetName: d.target.name,
        caps: d.caps,
        store: d.store,
        exec,
        settings: d.provenance.settings,
      });
      if (prov) {
        out.push(prov);
      }
    }
  };
  for (const level of dependencyLevels(writes)) {
    if (batch) {
      const results = await Promise.allSettled(level.map(one));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        throw failed.reason;
      }
    } else {
      for (const w of level) {
        await one(w);
      }
    }
  }
  return out;
}

/**
 * Groups writes into levels: a write comes one level after the deepest write it references (by its
 * urn:uuid). Within a level nothing references anything else, so its writes can go together.
 */
export function dependencyLevels(writes: PlannedWrite[]): PlannedWrite[][] {
  const byUrl = new Map(writes.map((w) => [w.fullUrl, w]));
  const level = new Map<string, number>();
  const depth = (w: PlannedWrite, seen: Set<string>): number => {
    const known = level.get(w.fullUrl);
    if (known !== undefined) {
      return known;
    }
    seen.add(w.fullUrl);
    let d = 0;
    forEachReference(w.resource, (r) => {
      const dep = byUrl.get(r);
      if (dep && !seen.has(dep.fullUrl)) {
        d = Math.max(d, depth(dep, seen) + 1);
      }
    });
    level.set(w.fullUrl, d);
    return d;
  };
  writes.forEach((w) => depth(w, new Set()));
  const levels: PlannedWrite[][] = [];
  for (const w of writes) {
    (levels[level.get(w.fullUrl) as number] ??= []).push(w);
  }
  return levels.filter((l) => l !== undefined);
}
