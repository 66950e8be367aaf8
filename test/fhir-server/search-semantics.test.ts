/**
 * The search index answers exactly what medplum's matcher answers. Resources of four types are
 * generated (fixed seed), stored, some updated and deleted; then many generated queries are answered
 * by the repository (the index) and, independently, by running medplum's `matchesSearchRequest` over
 * every live resource. Totals, members, order and pages must be equal, and the index must never have
 * had to fall back because the matcher disagreed with it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { evalFhirPathTyped, getSearchParameters, matchesSearchRequest, parseFhirPath, parseSearchRequest, toTypedValue } from '@medplum/core';
import type { SearchRequest, WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { openFhirDatabase, type FhirDatabase } from '../../src/fhir-server/database.js';
import { extractEntries } from '../../src/fhir-server/search-extract.js';
import { normalizeSearchRequest } from '../../src/fhir-server/search-normalize.js';
import { originalExpression } from '../../src/fhir-server/search-params.js';
import { sortInSearchOrder } from '../../src/fhir-server/search-sort.js';
import { pageSize } from '../../src/fhir-server/search.js';
import { SqliteFhirRepository } from '../../src/fhir-server/sqlite-repository.js';
import { ENCOUNTER_IDS, PATIENT_IDS, anyResource, clean, searchQuery } from './search-arbitraries.js';

const SEED = 20240817;
const RESOURCES = 300;
const QUERIES = 500;

let dir: string;
let db: FhirDatabase;
let repo: SqliteFhirRepository;
/** A second connection whose searches treat every driver as broad (the paths large data takes). */
let tunedDb: FhirDatabase;
let tuned: SqliteFhirRepository;
const warnings: unknown[] = [];
/** The live resources, as the test knows them. */
const live = new Map<string, WithId<Resource>>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-search-'));
  db = openFhirDatabase(path.join(dir, 'fhir.sqlite'));
  repo = new SqliteFhirRepository(db, { logger: { warn: (m, meta) => warnings.push({ m, meta }), error: (m, meta) => warnings.push({ m, meta }) } });
  const generated = fc.sample(anyResource, { seed: SEED, numRuns: RESOURCES }).map(clean);
  const fixedIds = new Map([
    ['Patient', [...PATIENT_IDS]],
    ['Encounter', [...ENCOUNTER_IDS]],
  ]);
  await repo.withTransaction(async () => {
    for (const [i, resource] of generated.entries()) {
      const id = fixedIds.get(resource.resourceType)?.shift();
      const stored = await repo.createResource({ ...resource, ...(id ? { id } : {}) }, { assignedId: Boolean(id) });
      live.set(key(stored), stored);
      if (i % 5 === 0) {
        // A later version with other values: the index must forget the old ones.
        const other = generated[(i * 7 + 3) % generated.length];
        if (other.resourceType === resource.resourceType) {
          const updated = await repo.updateResource({ ...other, id: stored.id });
          live.set(key(updated), updated);
        }
      }
      if (i % 11 === 0 && !id) {
        await repo.deleteResource(stored.resourceType, stored.id);
        live.delete(key(stored));
      }
    }
  });
  tunedDb = openFhirDatabase(path.join(dir, 'fhir.sqlite'));
  tuned = new SqliteFhirRepository(tunedDb, { searchTuning: { probeLimit: 3, windowMin: 4, windowFactor: 2 } });
});

afterAll(() => {
  tunedDb.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function key(r: Resource): string {
  return `${r.resourceType}/${r.id}`;
}

/**
 * medplum's matcher, one filter at a time (it ANDs them), memoised: it parses each parameter's
 * FHIRPath expression on every call, which would make this test slow.
 */
const matched = new Map<string, boolean>();
function matchesFilters(resource: WithId<Resource>, request: SearchRequest): boolean {
  return (request.filters ?? []).every((filter) => {
    const k = `${key(resource)}/${resource.meta?.versionId}\u0000${JSON.stringify(filter)}`;
    let hit = matched.get(k);
    if (hit === undefined) {
      hit = matchesSearchRequest(resource, { resourceType: request.resourceType, filters: [filter] });
      matched.set(k, hit);
    }
    return hit;
  });
}

/** The oracle: medplum's matcher over every live resource, then the documented order and paging. */
function expected(type: string, query: string): { total: number; ids: string[] } {
  const request = normalizeSearchRequest(parseSearchRequest(`${type}?${query}`));
  const matches = [...live.values()].filter((r) => r.resourceType === type && matchesFilters(r, request));
  const items = sortInSearchOrder(
    matches.map((resource) => ({ resource, entries: extractEntries(resource) })),
    request.sortRules ?? []
  );
  const offset = request.offset ?? 0;
  return { total: matches.length, ids: items.slice(offset, offset + pageSize(request)).map((i) => i.resource.id as string) };
}

async function actual(type: string, query: string, on = repo): Promise<{ total: number; ids: string[] }> {
  const bundle = await on.search(parseSearchRequest(`${type}?${query}`));
  return { total: bundle.total ?? -1, ids: (bundle.entry ?? []).map((e) => e.resource?.id as string) };
}

describe('per-type search parameters', () => {
  test('every specialized expression yields what the original yields, on every generated resource', () => {
    const parsed = new Map<string, ReturnType<typeof parseFhirPath>>();
    let compared = 0;
    for (const resource of live.values()) {
      const input = [toTypedValue(resource)];
      for (const [code, param] of Object.entries(getSearchParameters(resource.resourceType) ?? {})) {
        const original = originalExpression(resource.resourceType, code);
        if (!param.expression || !original || original === param.expression) {
          continue;
        }
        const k = `${resource.resourceType}.${code}`;
        if (!parsed.has(k)) {
          parsed.set(k, parseFhirPath(original));
        }
        expect({ k, v: evalFhirPathTyped(param.expression, input) }).toEqual({ k, v: evalFhirPathTyped(parsed.get(k) as ReturnType<typeof parseFhirPath>, input) });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});

describe('search index agrees with medplum matcher', () => {
  test('the generated data covers every type and gives queries something to find', () => {
    const types = new Set([...live.values()].map((r) => r.resourceType));
    expect([...types].sort()).toEqual(['DocumentReference', 'Encounter', 'Patient', 'Provenance']);
    expect(live.size).toBeGreaterThan(RESOURCES * 0.8);
  });

  test(`${QUERIES} generated queries: same total, members, order and page (seed ${SEED})`, async () => {
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(searchQuery, async ({ type, query }) => {
        const want = expected(type, query);
        nonEmpty += want.total > 0 ? 1 : 0;
        expect({ query: `${type}?${query}`, ...(await actual(type, query)) }).toEqual({ query: `${type}?${query}`, ...want });
        expect({ tuned: `${type}?${query}`, ...(await actual(type, query, tuned)) }).toEqual({ tuned: `${type}?${query}`, ...want });
      }),
      { seed: SEED, numRuns: QUERIES }
    );
    // The queries must exercise the index, not only agree on empty answers.
    expect(nonEmpty).toBeGreaterThan(QUERIES / 3);
    expect(warnings).toEqual([]);
  });

  test('every date prefix at the exact edges of stored values', async () => {
    const values = ['2020-06-15T12:30:00.000Z', '2020-06-15T12:30:00Z', '2020-06-15', '2020-06', '2020', '2020-06-15T14:30:00.000+02:00'];
    const docs = [...live.values()].filter((r) => r.resourceType === 'DocumentReference').slice(0, 6);
    const encounters = [...live.values()].filter((r) => r.resourceType === 'Encounter').slice(0, 4);
    await repo.withTransaction(async () => {
      for (const [i, doc] of docs.entries()) {
        const updated = await repo.updateResource({ ...doc, date: values[i].length > 20 ? values[i] : `${values[i].padEnd(10, '-01').slice(0, 10)}T12:30:00.000Z` });
        live.set(key(updated), updated);
      }
      const periods = [{ start: '2020-06-15T12:30:00.000Z', end: '2020-06-15T12:30:00.000Z' }, { start: '2020-06-15' }, { end: '2020-06' }, { start: '2020-06-15T12:30:00.000Z', end: '2020-06-16' }];
      for (const [i, e] of encounters.entries()) {
        const updated = await repo.updateResource({ ...e, period: periods[i] });
        live.set(key(updated), updated);
      }
    });
    for (const prefix of ['', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb', 'ap']) {
      for (const v of values) {
        for (const [type, code] of [['DocumentReference', 'date'], ['Encounter', 'date']]) {
          const query = `${code}=${prefix}${encodeURIComponent(v)}`;
          expect({ query, ...(await actual(type, query)) }).toEqual({ query, ...expected(type, query) });
        }
      }
    }
    expect(warnings).toEqual([]);
  });

  test.each([
    ['Patient', 'identifier=http://a.example/ids|x1&_sort=family'],
    ['Patient', 'family=smi&_sort=-birthdate&_count=3&_offset=1'],
    ['Encounter', 'subject=p1'],
    ['Encounter', 'date=ge2020-01-01&date=lt2020-07-01&_sort=-date'],
    ['DocumentReference', 'patient=Patient/p2&_sort=-_lastUpdated'],
    ['DocumentReference', 'description=note'],
    ['Provenance', '_tag=https://collateral.example/tags|k1&_count=2'],
    ['Provenance', 'target=Encounter/e1/_history/2'],
  ])('%s?%s', async (type, query) => {
    expect(await actual(type, query)).toEqual(expected(type, query));
  });
});
