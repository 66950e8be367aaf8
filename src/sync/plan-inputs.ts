/**
 * The plan's inputs (plan.ts): the mapped records, and the facts the load stage read for them
 * (plan-facts.ts), as plain data. Mapping is pure: it runs once per attempt, before the ledger is read,
 * because what the ledger is asked depends on what the mapping produced.
 */
import type { NoteRecord, RecordKind, SessionRecord } from '../domain/records.js';
import { type MappedResource, type MappingSet, mapRecord } from '../mapping/index.js';
import { contentHash } from '../store/hash.js';
import type { LedgerEntry, SyncStateName } from '../store/port.js';
import type { RecordToMap } from './context.js';
import { type ConditionalRef, forEachReference, parseConditionalRef } from './references.js';

const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

/** One resource of a mapped record, with what the plan compares. */
export interface MappedOne {
  mapped: MappedResource;
  mapping: string;
  hash: string;
  identifier: string;
}

/** One record of the plan, mapped (or the error its mapping raised, thrown when the plan gets to it). */
export interface MappedItem {
  item: RecordToMap;
  isMain: boolean;
  resources: MappedOne[];
  error?: unknown;
}

/** A ledger lookup: a resource on the target by type and business identifier. */
export interface LedgerKey {
  resourceType: string;
  identifier: string;
}

/** The record whose sync state on this target the plan asks about. */
export interface RecordKey {
  kind: RecordKind;
  id: string;
}

/** A Patient or Practitioner looked up on the target: its literal reference, or why not (a HoldError, a target error). */
export type IdentityFact = { reference: string } | { error: unknown };

/**
 * What the load stage read for a plan. A key present with `null` (or `undefined` state) was read and
 * found absent; a key missing was not read yet.
 */
export interface PlanFacts {
  /** Ledger entries on this target, by ledgerFactKey. */
  ledger: Map<string, LedgerEntry | null>;
  /** Sync states on this target of dependency records, by `kind/id`. */
  states: Map<string, SyncStateName | undefined>;
  /** Identity lookups, by `Type?system|value`. */
  identities: Map<string, IdentityFact>;
}

/** What a plan still needs read before it can be made. */
export interface PlanNeeds {
  ledger: LedgerKey[];
  states: RecordKey[];
  identities: ConditionalRef[];
}

export function ledgerFactKey(resourceType: string, identifier: string): string {
  return `${resourceType}|${identifier}`;
}

export function identityFactKey(ref: ConditionalRef): string {
  return `${ref.resourceType}?${ref.identifier}`;
}

/** Empty facts (nothing read yet). */
export function emptyFacts(): PlanFacts {
  return { ledger: new Map(), states: new Map(), identities: new Map() };
}

/**
 * Decide (pure): maps the main record (records[last]) and its dependencies. A mapping error is kept
 * with its record and raised when the plan reaches it, as when mapping and planning went record by record.
 * @param extra - resources a record adds beyond its mapping (the signed ROI form as a DocumentReference).
 */
export function mapForPlan(records: RecordToMap[], mappings: MappingSet, extra?: (item: RecordToMap) => MappedResource[]): MappedItem[] {
  const main = records[records.length - 1];
  return records.map((item) => {
    const isMain = item === main;
    try {
      const result = mapRecord(mappings, item.record.kind, item.record.body, item.context);
      const resources = [
        ...result.resources.map((mapped) => ({ mapped, mapping: `${result.mappingId}@${result.mappingVersion}` })),
        ...(isMain && extra ? extra(item).map((mapped) => ({ mapped, mapping: 'roi-document@1' })) : []),
      ];
      return {
        item,
        isMain,
        resources: resources.map(({ mapped, mapping }) => ({ mapped, mapping, hash: contentHash(mapped.resource), identifier: `${mapped.key.system}|${mapped.key.value}` })),
      };
    } catch (error) {
      return { item, isMain, resources: [], error };
    }
  });
}

/**
 * The ledger lookups a plan of these mapped records makes (the load stage reads them in one go): every
 * mapped resource, every conditional reference they hold, the clinicians they name.
 */
export function planLedgerKeys(mapped: MappedItem[]): LedgerKey[] {
  const keys = new Map<string, LedgerKey>();
  const add = (k: LedgerKey): void => void keys.set(ledgerFactKey(k.resourceType, k.identifier), k);
  for (const m of mapped) {
    for (const r of m.resources) {
      add({ resourceType: r.mapped.resource.resourceType, identifier: r.identifier });
      forEachReference(r.mapped.resource, (ref) => {
        const c = parseConditionalRef(ref);
        if (c) {
          add(c);
        }
      });
    }
    const author = authorRef(m.item);
    const c = author ? parseConditionalRef(author) : undefined;
    if (c) {
      add(c);
    }
  }
  return [...keys.values()];
}

/** The conditional reference to the clinician a session or note names, if any. */
export function authorRef(item: RecordToMap): string | undefined {
  const npi =
    item.record.kind === 'session'
      ? (item.record.body as SessionRecord).therapist?.npi
      : item.record.kind === 'note'
        ? (item.record.body as NoteRecord).author?.npi
        : undefined;
  return npi ? `Practitioner?identifier=${NPI_SYSTEM}|${npi}` : undefined;
}
