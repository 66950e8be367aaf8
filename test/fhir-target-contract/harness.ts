/**
 * Runs one set of behavioural tests against every FhirTarget implementation: the kit client over HTTP
 * to the embedded FHIR server (full profile), and the in-memory target (medplum's FhirRouter over its
 * MemoryRepository, src/fhir/memory-target.ts). One target per describe block; tests keep apart by
 * using identifiers and names of their own.
 *
 * Where an implementation genuinely lacks a behaviour, its trait says so and `where(trait)` declares the
 * test as `test.failing` for it: the gap is visible in every run, and the day it closes the test fails
 * and asks for the trait to be updated.
 */
import { randomUUID } from 'node:crypto';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import { createMemoryTarget } from '../../src/fhir/memory-target.js';
import type { FhirTarget } from '../../src/fhir/port.js';
import { startStandaloneFhirServer } from '../../src/fhir-server/standalone.js';
import { tempDir } from '../helpers/tmp.js';

/** Behaviours not every implementation has; each false one is a known gap with its reason. */
export interface Traits {
  /** A failed transaction leaves nothing behind. */
  atomicTransactions: boolean;
  /** A resource that breaks the R4 definitions is refused with 400. */
  validates: boolean;
  /** An update with content equal to the current version writes no new version. */
  unchangedUpdateKeepsVersion: boolean;
  /** History stays newest first however often it is read and written. */
  stableHistory: boolean;
  /** If-Match on a resource that does not exist is a failed precondition (412), not a 404. */
  ifMatchOnMissingIs412: boolean;
  /** PATCH honours If-Match (a stale version is refused with 412). */
  patchHonoursIfMatch: boolean;
}

interface Implementation {
  name: string;
  traits: Traits;
  /** Why each false trait is false (shown in the test name). */
  gaps: Partial<Record<keyof Traits, string>>;
  open(): Promise<{ target: FhirTarget; close(): Promise<void> }>;
}

const http: Implementation = {
  name: 'kit client over HTTP to the embedded server',
  traits: {
    atomicTransactions: true,
    validates: true,
    unchangedUpdateKeepsVersion: true,
    stableHistory: true,
    ifMatchOnMissingIs412: true,
    patchHonoursIfMatch: true,
  },
  gaps: {},
  async open() {
    const tmp = tempDir();
    const server = await startStandaloneFhirServer({ profile: 'full', dataDir: tmp.dir });
    return {
      target: createKitClientTarget({ name: 'http', baseUrl: server.url, timeoutMs: 10_000 }),
      async close() {
        await server.close();
        tmp.cleanup();
      },
    };
  },
};

const memory: Implementation = {
  name: 'in-memory target (medplum FhirRouter + MemoryRepository)',
  traits: {
    atomicTransactions: false,
    validates: false,
    unchangedUpdateKeepsVersion: false,
    stableHistory: false,
    ifMatchOnMissingIs412: false,
    patchHonoursIfMatch: true,
  },
  gaps: {
    atomicTransactions: "MemoryRepository.withTransaction runs the callback without any rollback",
    validates: 'MemoryRepository stores whatever it is given',
    unchangedUpdateKeepsVersion: 'MemoryRepository.updateResource always stores a new version',
    stableHistory: 'MemoryRepository.readHistory reverses its stored list in place (medplum 4.5.2)',
    ifMatchOnMissingIs412: 'MemoryRepository.updateResource answers 404 before looking at If-Match',
  },
  async open() {
    return { target: createMemoryTarget({ name: 'memory' }), close: async () => {} };
  },
};

export const IMPLEMENTATIONS: Implementation[] = [http, memory];

/** What a contract body gets: the target, and `where(trait)` to declare a test that needs that trait. */
export interface Contract {
  target(): FhirTarget;
  /** `test` where the implementation has the trait; `test.failing` (named with the reason) where it lacks it. */
  where(trait: keyof Traits): (name: string, fn: () => Promise<void>) => void;
}

/**
 * Declares `body`'s tests once per implementation, on one target per implementation.
 * @param title - The slice of the port under test.
 * @param body - The tests.
 */
export function describeTargets(title: string, body: (c: Contract) => void): void {
  for (const impl of IMPLEMENTATIONS) {
    describe(`${impl.name}: ${title}`, () => {
      let target: FhirTarget;
      let close: () => Promise<void>;
      beforeAll(async () => {
        ({ target, close } = await impl.open());
      });
      afterAll(async () => {
        await close();
      });
      body({
        target: () => target,
        where: (trait) => (name, fn) => {
          if (impl.traits[trait]) {
            test(name, fn);
          } else {
            // A known gap: this test is expected to fail here, for the reason given.
            test.failing(`${name} [known gap: ${impl.gaps[trait] ?? trait}]`, fn);
          }
        },
      });
    });
  }
}

/** A value no other test uses (identifiers, family names). */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export const SYSTEM = 'https://contract.example.org/sid/test';
