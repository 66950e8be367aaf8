/**
 * No search reads a table that grows with the data from end to end. For representative searches (the
 * sync's lookups and the common clinical ones), the SQL the index would run is shown to SQLite's
 * EXPLAIN QUERY PLAN, on a database holding data, and the test fails on:
 * - a full SCAN of `resources`, `resource_history` or a `search_*` table (the FTS5 trigram lookup,
 *   `SCAN search_string_fts VIRTUAL TABLE INDEX`, is an index lookup and allowed);
 * - a per-resource check (the correlated subqueries on alias `x`) that is not keyed by the resource
 *   (`rid=?`), i.e. that would read every resource's rows for each candidate;
 * - a sort of the whole type for `_sort=-_lastUpdated` (it must read the index in order).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { openFhirDatabase, type FhirDatabase } from '../../src/fhir-server/database.js';
import { SqliteFhirRepository } from '../../src/fhir-server/sqlite-repository.js';

const TAGS = 'https://collateral.example/fhir/tags';
const IDS = 'https://collateral.example/ids';

let dir: string;
let db: FhirDatabase;
let repo: SqliteFhirRepository;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-plan-'));
  db = openFhirDatabase(path.join(dir, 'fhir.sqlite'));
  repo = new SqliteFhirRepository(db);
  const day = (i: number): string => `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
  await repo.withTransaction(async () => {
    for (let i = 0; i < 300; i++) {
      const subject = { reference: `Patient/p${i % 30}` };
      const tag = { system: TAGS, code: `key-${i}` };
      const resources: Resource[] = [
        { resourceType: 'Patient', identifier: [{ system: IDS, value: `mrn-${i}` }], name: [{ family: `Family${i}`, given: ['Pat'] }], birthDate: day(i) },
        { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject, identifier: [{ system: IDS, value: `enc-${i}` }], period: { start: `${day(i)}T10:00:00Z`, end: `${day(i)}T11:00:00Z` } },
        {
          resourceType: 'DocumentReference',
          status: 'current',
          subject,
          date: `${day(i)}T10:30:00Z`,
          identifier: [{ system: IDS, value: `doc-${i}` }],
          meta: { tag: [tag], profile: ['https://collateral.example/fhir/StructureDefinition/note'] },
          description: `Session note ${i}`,
          content: [{ attachment: { contentType: 'text/plain' } }],
        },
        { resourceType: 'Provenance', target: [{ reference: `DocumentReference/d${i}/_history/1` }], recorded: `${day(i)}T10:30:00Z`, agent: [{ who: { reference: 'Practitioner/pr1' } }], meta: { tag: [tag] } },
      ];
      for (const resource of resources) {
        await repo.createResource(resource);
      }
    }
  });
});

afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const GROWING = /^(resources|resource_history|search_\w+)$/;

function planOf(sql: string, params: unknown[]): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
}

/** The problems in one statement's plan (empty when it is fine). */
function problems(lines: string[], aliases: Map<string, string>): string[] {
  const out: string[] = [];
  // A subquery's own rows (CO-ROUTINE r / MATERIALIZE r, then SCAN r) are not a table.
  const subqueries = new Set(lines.map((l) => /^(?:CO-ROUTINE|MATERIALIZE) (\S+)/.exec(l)?.[1]).filter(Boolean));
  for (const line of lines) {
    const scan = /^SCAN (\S+)/.exec(line);
    const table = scan && !subqueries.has(scan[1]) ? (aliases.get(scan[1]) ?? scan[1]) : undefined;
    if (table && GROWING.test(table) && !line.includes('VIRTUAL TABLE INDEX')) {
      out.push(`full scan: ${line}`);
    }
    if (/^SEARCH x\b/.test(line) && !line.includes('rid=?')) {
      out.push(`per-resource check not keyed by the resource: ${line}`);
    }
  }
  return out;
}

/** Table aliases used by the generated SQL. */
const ALIASES = new Map([
  ['r', 'search_resource'],
  ['x', 'search_*'],
  ['s', 'search_string'],
  ['res', 'resources'],
]);

const SEARCHES = [
  // The sync's own lookups: conditional create by _tag, identifier upserts, Provenance by target.
  'Provenance?_tag=https://collateral.example/fhir/tags|key-7&_count=2',
  'DocumentReference?identifier=https://collateral.example/ids|doc-7&_count=2',
  'Patient?identifier=https://collateral.example/ids|mrn-7',
  'Patient?identifier=mrn-7',
  'Provenance?target=DocumentReference/d7/_history/1&_count=1000',
  // subject / patient.
  'DocumentReference?subject=Patient/p3',
  'DocumentReference?patient=Patient/p3',
  'DocumentReference?patient=p3&_sort=-_lastUpdated',
  'Encounter?subject=Patient/p3&status=finished',
  // dates: windows, one side, a day, _lastUpdated.
  'Encounter?date=ge2024-03-01&date=lt2024-04-01',
  'Encounter?date=2024-03-04',
  'DocumentReference?date=ge2024-11-01',
  'DocumentReference?_lastUpdated=ge2020-01-01&_count=5',
  'Patient?birthdate=2024-05',
  // _tag, strings, uri, sort, paging.
  'DocumentReference?_tag=key-9',
  'DocumentReference?_profile=https://collateral.example/fhir/StructureDefinition/note&_count=1',
  'Patient?name=family12',
  'DocumentReference?description=session&subject=Patient/p1',
  'DocumentReference?_sort=-_lastUpdated',
  'DocumentReference?_sort=-_lastUpdated&_count=10&_offset=30',
  'Encounter?_sort=_lastUpdated',
  'Encounter?subject=Patient/p1&_sort=-date',
  'Patient?family=family1&_sort=birthdate',
];

describe('search SQL query plans', () => {
  test.each(SEARCHES)('%s uses indexes only', (url) => {
    const statements = repo.explainSearch(parseSearchRequest(url));
    expect(statements).toBeDefined();
    const found = (statements ?? []).flatMap(({ sql, params }) => {
      const lines = planOf(sql, params);
      return problems(lines, ALIASES).map((p) => `${p}\n  in: ${sql}`);
    });
    expect(found).toEqual([]);
  });

  test('_sort=-_lastUpdated reads the type in index order (no sort of the whole type)', () => {
    const statements = repo.explainSearch(parseSearchRequest('DocumentReference?_sort=-_lastUpdated&_count=20')) ?? [];
    const page = statements.find((s) => s.sql.includes('ORDER BY'));
    expect(page).toBeDefined();
    const lines = planOf(page?.sql ?? '', page?.params ?? []);
    expect(lines.join('\n')).toMatch(/search_resource_by_updated/);
    expect(lines.join('\n')).not.toMatch(/TEMP B-TREE/);
  });

  test('the checker itself flags a full scan and an unkeyed per-resource check', () => {
    expect(problems(planOf('SELECT content FROM resources WHERE content LIKE ?', ['%x%']), ALIASES)).toHaveLength(1);
    const unkeyed = 'SELECT 1 FROM search_resource r WHERE EXISTS (SELECT 1 FROM search_token x WHERE x.pid = ? AND x.value = ?)';
    expect(problems(planOf(unkeyed, [1, 'a']), ALIASES).join()).toMatch(/not keyed/);
  });
});
