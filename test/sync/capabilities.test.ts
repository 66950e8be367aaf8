/**
 * Reading a target: the CapabilityStatement parsed into what the planner asks, the cache (read once,
 * read again on demand), and Retry-After as servers send it.
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { CapabilityCache, parseCapabilities } from '../../src/fhir/capabilities.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/fhir/upstream-error.js';

const statement = (over: Partial<CapabilityStatement> = {}): CapabilityStatement => ({
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2026-01-01',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [
    {
      mode: 'server',
      interaction: [{ code: 'batch' }],
      resource: [
        {
          type: 'DocumentReference',
          interaction: [{ code: 'create' }, { code: 'update' }, { code: 'search-type' }],
          versioning: 'versioned',
          conditionalCreate: false,
          searchParam: [{ name: 'patient', type: 'reference' }],
        },
        { type: 'Consent', interaction: [{ code: 'read' }] },
      ],
    },
  ],
  ...over,
});

test('what a statement declares, and nothing more', () => {
  const caps = parseCapabilities(statement());
  expect(caps).toMatchObject({ transaction: false, batch: true });
  expect(caps.canWrite('DocumentReference')).toBe(true);
  expect(caps.canWrite('Consent')).toBe(false);
  expect(caps.canWrite('Encounter')).toBe(false); // not listed at all
  expect(caps.canSearch('DocumentReference', 'patient')).toBe(true);
  expect(caps.canSearch('DocumentReference', 'identifier')).toBe(false);
  expect(caps.canSearch('Consent', '_id')).toBe(false); // no search-type interaction
  expect(caps.type('DocumentReference')).toMatchObject({ versioned: true, conditionalCreate: false, conditionalUpdate: false });
  expect(parseCapabilities(statement({ rest: [] })).canWrite('DocumentReference')).toBe(false);
});

test('the statement is read once, and again after invalidate()', async () => {
  let reads = 0;
  const cache = new CapabilityCache({ capabilities: async () => (reads++, statement()) }, 3_600_000);
  await Promise.all([cache.get(), cache.get()]);
  await cache.get();
  expect(reads).toBe(1);
  cache.invalidate();
  await cache.get();
  expect(reads).toBe(2);
  await cache.get(Date.now() + 4_000_000); // past the TTL
  expect(reads).toBe(3);
});

test('Retry-After in seconds or as an HTTP date; garbage is ignored; an absurd wait is capped', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(parseRetryAfter('3', now)).toBe(3000);
  expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
  expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(null, now)).toBeUndefined();
  expect(parseRetryAfter('999999', now)).toBe(MAX_RETRY_AFTER_MS);
});
