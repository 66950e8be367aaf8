/**
 * verify-target (issue #9 item 2): compares what the ledger says we wrote on a target with what the
 * target holds, and reports
 * - ledger entries whose resource is missing on the target, or there at another version (changed by
 *   someone else);
 * - duplicate identifiers: more than one resource with one of the ledger's identifiers (a write tag for
 *   Provenances);
 * - orphan Provenances: ones carrying our write tag whose `target` does not resolve or names a version
 *   that does not exist.
 * It reads through the same FhirTarget port (fhir-kit-client, the sync's auth) and only what the
 * target's CapabilityStatement declares; what a target does not let it check is listed, never guessed.
 * Cost: batched searches (`identifier=` and `_id=` lists of `chunkSize`), paged, `concurrency` at once.
 */
import type { Provenance, Resource } from '@medplum/fhirtypes';
import { parseCapabilities, type TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import type { LedgerEntry } from '../store/port.js';
import { writeTagSystem } from './provenance.js';
import { resourcesOfSamePatients } from './verify-target-by-patient.js';
import { lookupByIds } from './verify-target-lookup.js';
import { findOrphanProvenances } from './verify-target-provenance.js';
import { resourcesByIdentifiers, searchAll, type BatchedSearch } from './verify-target-search.js';
import type { DuplicateProblem, VerifyProblem, VerifyReport } from './verify-target-types.js';

export type * from './verify-target-types.js';

export interface VerifyTargetOptions {
  target: Pick<FhirTarget, 'capabilities' | 'search' | 'nextPage' | 'read' | 'vread' | 'batch'>;
  /** The target's name in the store (the ledger's key). */
  targetName: string;
  /** The target's ledger (LedgerStore.listLedger). */
  ledger: readonly LedgerEntry[];
  /** IDENTIFIER_NAMESPACE: our identifier systems and the write tag live under it. */
  ns: string;
  /** Values per `_id=` / `identifier=` list, and page size. Default 50. */
  chunkSize?: number;
  /** Searches in flight at once. Default 4. */
  concurrency?: number;
}

/** Runs every check; throws the target's OperationOutcomeError when it cannot be read. */
export async function verifyTarget(o: VerifyTargetOptions): Promise<VerifyReport> {
  const caps = parseCapabilities(await o.target.capabilities());
  const search: BatchedSearch = { target: o.target, chunkSize: o.chunkSize ?? 50, concurrency: o.concurrency ?? 4 };
  const shown = (identifier: string): string => showIdentifier(o.ns, identifier);
  const records = new Map(o.ledger.map((l) => [`${l.resourceType}|${l.identifier}`, `${l.kind}/${l.recordId}`]));
  const problems: VerifyProblem[] = [];
  const notChecked: string[] = [];
  const known = new Map<string, Resource>();
  let identifiers = 0;

  const byType = new Map<string, LedgerEntry[]>();
  for (const l of o.ledger) {
    byType.set(l.resourceType, [...(byType.get(l.resourceType) ?? []), l]);
  }
  let provenances: Provenance[] = [];
  for (const [type, entries] of byType) {
    let onTarget: Resource[] | undefined;
    if (type === 'Provenance') {
      // Provenance has no identifier: the write tag is its identifier in the ledger.
      onTarget = await ourProvenances(caps, search, o.ns, notChecked);
      provenances = (onTarget ?? []) as Provenance[];
    } else if (caps.canSearch(type, 'identifier')) {
      onTarget = await resourcesByIdentifiers(search, type, entries.map((e) => e.identifier));
    }
    if (onTarget) {
      identifiers += entries.length;
      problems.push(...duplicates(type, entries, onTarget, type === 'Provenance' ? writeTagSystem(o.ns) : undefined, shown, records));
      onTarget.forEach((r) => known.set(`${type}/${r.id}`, r));
    }
    // Entries whose resource the search did not bring (its identifier was changed, or it is gone): by id.
    const rest = entries.filter((e) => !known.has(`${type}/${e.resourceId}`)).map((e) => e.resourceId);
    const found = await lookupByIds(caps, search, o.target, type, rest);
    if (!found) {
      notChecked.push(`${rest.length} ${type} ledger entries: the target can neither search ${type} by _id nor read it`);
    }
    found?.forEach((r, id) => known.set(`${type}/${id}`, r));
    if (!onTarget && type !== 'Provenance') {
      // No identifier search: the twins are looked for among the same patients' resources of the type.
      const samePatients = await resourcesOfSamePatients(caps, search, type, found?.values() ?? []);
      notChecked.push(
        samePatients
          ? `duplicates of ${entries.length} ${type} identifiers looked for among the same patients' ${type} only: the target cannot search ${type} by identifier`
          : `duplicates of ${entries.length} ${type} identifiers: the target cannot search ${type} by identifier or patient`
      );
      if (samePatients) {
        identifiers += entries.length;
        problems.push(...duplicates(type, entries, samePatients, undefined, shown, records));
      }
    }
    for (const e of entries) {
      const r = known.get(`${type}/${e.resourceId}`);
      if (!r && found) {
        problems.push({ check: 'missing', resourceType: type, id: e.resourceId, identifier: shown(e.identifier), record: `${e.kind}/${e.recordId}` });
      } else if (r?.meta?.versionId !== undefined && r.meta.versionId !== e.versionId) {
        problems.push({
          check: 'changed',
          resourceType: type,
          id: e.resourceId,
          identifier: shown(e.identifier),
          record: `${e.kind}/${e.recordId}`,
          ledgerVersion: e.versionId,
          targetVersion: r.meta.versionId,
        });
      }
    }
  }
  if (!byType.has('Provenance')) {
    // No Provenance in the ledger (a target that does not take them, or none written yet): any with our tag is still checked.
    provenances = ((await ourProvenances(caps, search, o.ns, notChecked)) ?? []) as Provenance[];
    problems.push(...duplicates('Provenance', [], provenances, writeTagSystem(o.ns), shown, records));
  }
  const orphans = await findOrphanProvenances({ provenances, known, caps, search, target: o.target });
  problems.push(...orphans.problems);
  notChecked.push(...orphans.notChecked);
  return {
    target: o.targetName,
    problems,
    checked: { ledgerEntries: o.ledger.length, identifiers, provenances: provenances.length, versionsRead: orphans.versionsRead },
    notChecked,
  };
}

/** Every Provenance on the target carrying our write tag (`_tag=system|`: any code of that system). */
async function ourProvenances(caps: TargetCapabilities, search: BatchedSearch, ns: string, notChecked: string[]): Promise<Resource[] | undefined> {
  if (!caps.canSearch('Provenance', '_tag')) {
    notChecked.push(caps.can('Provenance', 'read') || caps.canWrite('Provenance')
      ? 'orphan and duplicate Provenances: the target cannot search Provenance by _tag'
      : 'orphan Provenances: the target has no Provenance');
    return undefined;
  }
  const system = writeTagSystem(ns);
  const found = await searchAll(search.target, 'Provenance', { _tag: `${system}|`, _count: String(search.chunkSize) });
  // A server that reads `system|` differently must not make us judge Provenances that are not ours.
  return found.filter((p) => (p.meta?.tag ?? []).some((t) => t.system === system));
}

/**
 * Identifiers carried by more than one resource. `tagSystem` set: the resources are Provenances keyed
 * by that tag system, and every tag code counts (ours, whether the ledger knows it or not).
 */
function duplicates(
  type: string,
  entries: readonly LedgerEntry[],
  onTarget: readonly Resource[],
  tagSystem: string | undefined,
  shown: (identifier: string) => string,
  records: ReadonlyMap<string, string>
): DuplicateProblem[] {
  const wanted = new Set(entries.map((e) => e.identifier));
  const holders = new Map<string, Set<string>>();
  for (const r of onTarget) {
    const keys = tagSystem
      ? (r.meta?.tag ?? []).filter((t) => t.system === tagSystem).map((t) => `${t.system}|${t.code}`)
      : ((r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []).map((i) => `${i.system}|${i.value}`).filter((k) => wanted.has(k));
    for (const k of keys) {
      holders.set(k, (holders.get(k) ?? new Set()).add(r.id as string));
    }
  }
  return [...holders]
    .filter(([, ids]) => ids.size > 1)
    .map(([identifier, ids]) => {
      const record = records.get(`${type}|${identifier}`);
      return { check: 'duplicate', resourceType: type, identifier: shown(identifier), ...(record ? { record } : {}), ids: [...ids].sort() };
    });
}

/**
 * An identifier as it may be shown: our write tag whole (a hash), any other with its value hidden (our
 * collateral-contact values embed the client's MRN; a clinician's is the NPI).
 */
export function showIdentifier(ns: string, identifier: string): string {
  const bar = identifier.indexOf('|');
  const system = bar < 0 ? '' : identifier.slice(0, bar);
  return system === writeTagSystem(ns) ? identifier : `${system}|…`;
}
