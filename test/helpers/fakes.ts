/**
 * The fakes of the sync unit tests: no server, no file. A store that is the real SqliteStore on an
 * in-memory database, and a target that is medplum's FhirRouter over medplum's MemoryRepository
 * (src/fhir/memory-target.ts). Both pass their port's contract suite (test/store-contract/,
 * test/fhir-target-contract/), where what the memory target lacks is listed: a test that depends on
 * atomic transactions, validation on write, sequential version ids or an unchanged update keeping its
 * version stays on the HTTP server (test/helpers/fhir-target.ts).
 *
 * `seed`, `search` and `countByIdentifier` mirror the HTTP helper's, so a test reads the same either way.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { createMemoryTarget, type MemoryFhirTarget } from '../../src/fhir/memory-target.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { seedBundle } from './fhir-target.js';

/** An in-memory target with the seeding and counting helpers of test/helpers/fhir-target.ts. */
export interface FakeTarget {
  /** The FhirTarget port to give the sync (its name is the ledger's key). */
  target: MemoryFhirTarget;
  /**
   * Writes resources in one transaction: a resource with an identifier is a conditional create on its
   * first identifier (seeding twice changes nothing), one without is a plain create.
   * @returns The stored resources (with ids), in order.
   */
  seed(resources: Resource[]): Promise<Resource[]>;
  /** Every resource of `type` matching `query` (all pages). */
  search(type: string, query?: Record<string, string>): Promise<Resource[]>;
  /** How many resources of `type` carry the identifier `system|value`. */
  countByIdentifier(type: string, system: string, value: string): Promise<number>;
  /** Every version of a resource, newest first (read once: see the history gap in the contract suite). */
  versions(type: string, id: string): Promise<string[]>;
}

/**
 * A fresh in-memory target.
 * @param name - Its name (the ledger's and sync state's key); default `memory`.
 */
export function fakeTarget(name = 'memory'): FakeTarget {
  const target = createMemoryTarget({ name });
  const search: FakeTarget['search'] = (type, query = {}) => target.searchAll(type, query);
  return {
    target,
    async seed(resources) {
      const answer: Bundle = await target.transaction(seedBundle(resources));
      return (answer.entry ?? []).map((e) => e.resource as Resource);
    },
    search,
    async countByIdentifier(type, system, value) {
      return (await search(type, { identifier: `${system}|${value}` })).length;
    },
    async versions(type, id) {
      const history = await target.history(type, id);
      return (history.entry ?? []).map((e) => e.resource?.meta?.versionId as string);
    },
  };
}

/** A fresh store: the real SqliteStore on an in-memory database (close it like any store). */
export function fakeStore(): SqliteStore {
  return SqliteStore.inMemory();
}
