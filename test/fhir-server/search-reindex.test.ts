/**
 * The search index over the life of a database: a version-1 file (identifier-only index) is upgraded
 * and re-indexed in the background, resuming after an interruption; writes made with the index off
 * make the next indexed open rebuild it; a corrupted index row is caught by medplum's matcher.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseSearchRequest } from '@medplum/core';
import type { Bundle, DocumentReference, Resource } from '@medplum/fhirtypes';
import { openFhirDatabase } from '../../src/fhir-server/database.js';
import { SqliteFhirRepository } from '../../src/fhir-server/sqlite-repository.js';

/** The version-1 layout, as the previous release created it. */
const V1_SCHEMA = `
CREATE TABLE resources (resource_type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
  last_updated TEXT NOT NULL, content TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (resource_type, id));
CREATE INDEX resources_by_type ON resources (resource_type, deleted, last_updated);
CREATE TABLE resource_history (resource_type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
  last_updated TEXT NOT NULL, content TEXT, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (resource_type, id, version_id),
  FOREIGN KEY (resource_type, id) REFERENCES resources (resource_type, id));
CREATE TABLE resource_tokens (resource_type TEXT NOT NULL, id TEXT NOT NULL, system TEXT NOT NULL, value TEXT NOT NULL,
  FOREIGN KEY (resource_type, id) REFERENCES resources (resource_type, id));
CREATE INDEX resource_tokens_by_value ON resource_tokens (resource_type, value, system);
PRAGMA user_version = 1;
`;

const SYS = 'https://collateral.example/ids';
const SECRET_NAME = 'Zebediah-Quillfeather';
const dirs: string[] = [];

function tempPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-reindex-'));
  dirs.push(dir);
  return path.join(dir, 'fhir.sqlite');
}

afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function doc(i: number): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    id: `doc-${i}`,
    meta: { versionId: '1', lastUpdated: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString() },
    status: 'current',
    identifier: [{ system: SYS, value: `d-${i}` }],
    subject: { reference: `Patient/p${i % 10}` },
    date: `2024-0${(i % 9) + 1}-15T10:00:00Z`,
    description: `${SECRET_NAME} session ${i}`,
    content: [{ attachment: { contentType: 'text/plain' } }],
  };
}

/** Writes a version-1 file holding `n` DocumentReferences (every 7th deleted) the way the old code did. */
function writeV1(file: string, n: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(V1_SCHEMA);
  const put = db.prepare('INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?)');
  const hist = db.prepare('INSERT INTO resource_history VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const r = doc(i);
      const deleted = i % 7 === 0 ? 1 : 0;
      put.run('DocumentReference', r.id, 1, r.meta?.lastUpdated, JSON.stringify(r), deleted);
      hist.run('DocumentReference', r.id, 1, r.meta?.lastUpdated, JSON.stringify(r), 0);
    }
  })();
  db.close();
}

function logger(into: { m: string; meta?: object }[]) {
  const push = (m: string, meta?: object): void => {
    into.push({ m, meta });
  };
  return { info: push, warn: push, error: push };
}

async function ids(repo: SqliteFhirRepository, url: string): Promise<{ total?: number; ids: string[] }> {
  const b: Bundle = await repo.search(parseSearchRequest(url));
  return { total: b.total, ids: (b.entry ?? []).map((e) => e.resource?.id as string) };
}

describe('re-index of a version-1 database', () => {
  test('is upgraded, answers correctly while re-indexing, then from the index; logs counts only', async () => {
    const file = tempPath();
    const n = 1500;
    writeV1(file, n);
    const logs: { m: string; meta?: object }[] = [];
    const db = openFhirDatabase(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'resource_tokens'").get()).toBeUndefined();
      const repo = new SqliteFhirRepository(db, { logger: logger(logs) });
      // Asked at once: the answer must be right whether or not the type is re-indexed yet.
      const early = await ids(repo, `DocumentReference?identifier=${SYS}|d-8`);
      expect(early).toEqual({ total: 1, ids: ['doc-8'] });
      await repo.searchIndexReady();

      expect(repo.explainSearch(parseSearchRequest('DocumentReference?patient=Patient/p3'))).toBeDefined();
      const live = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 !== 0);
      const p3 = live.filter((i) => i % 10 === 3);
      const byPatient = await ids(repo, 'DocumentReference?patient=p3&_count=1000');
      expect(byPatient.total).toBe(p3.length);
      expect(byPatient.ids).toEqual(p3.map((i) => `doc-${i}`));
      expect((await ids(repo, `DocumentReference?identifier=${SYS}|d-7`)).total).toBe(0); // deleted
      expect((await ids(repo, 'DocumentReference?date=ge2024-09-01&_count=0')).total).toBe(live.filter((i) => i % 9 === 8).length);
      expect((await ids(repo, `DocumentReference?description=${SECRET_NAME.slice(3, 12)}&_count=0`)).total).toBe(live.length);

      // First and last lines; progress lines in between every 5 s on a slow machine.
      expect(logs[0].m).toBe('FHIR search index: re-indexing stored resources');
      expect(logs.at(-1)).toMatchObject({ m: 'FHIR search index: re-index complete', meta: { indexed: n, total: n } });
      expect(logs.flatMap((l) => Object.keys(l.meta ?? {})).every((k) => ['indexed', 'total', 'ms'].includes(k))).toBe(true);
      expect(JSON.stringify(logs)).not.toMatch(new RegExp(`${SECRET_NAME}|d-\\d|Patient/`));
    } finally {
      db.close();
    }
  });

  test('an interrupted re-index resumes where it stopped on the next open', async () => {
    const file = tempPath();
    writeV1(file, 2000);
    const first = openFhirDatabase(file);
    new SqliteFhirRepository(first); // starts re-indexing in the background
    const cursorId = first.prepare("SELECT value FROM search_meta WHERE key = 'cursor_id'");
    while (!(cursorId.get() as { value: string } | undefined)?.value) {
      await new Promise((resolve) => setImmediate(resolve)); // until the first chunk (at most 500) is committed
    }
    first.close(); // as if the process stopped: the re-index notices and stops
    const cursor = new Database(file, { readonly: true });
    const state = cursor.prepare("SELECT key, value FROM search_meta WHERE key IN ('fingerprint', 'cursor_id')").all() as { key: string; value: string }[];
    cursor.close();
    expect(state.map((s) => s.key)).toEqual(['cursor_id']); // part way, not complete

    const db = openFhirDatabase(file);
    try {
      const logs: { m: string; meta?: object }[] = [];
      const repo = new SqliteFhirRepository(db, { logger: logger(logs) });
      await repo.searchIndexReady();
      const resumed = logs.find((l) => l.m.endsWith('complete'))?.meta as { indexed: number };
      expect(resumed.indexed).toBeLessThan(2000); // it did not start over
      expect((await ids(repo, 'DocumentReference?patient=Patient/p4&_count=0')).total).toBe(
        Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 7 !== 0 && i % 10 === 4).length
      );
    } finally {
      db.close();
    }
  });
});

describe('search index maintenance', () => {
  test('writes made with the index off are indexed by the next indexed open', async () => {
    const file = tempPath();
    const db1 = openFhirDatabase(file);
    const indexed = new SqliteFhirRepository(db1);
    await indexed.createResource<Resource>({ ...doc(1), id: undefined });
    db1.close();

    const db2 = openFhirDatabase(file);
    const plain = new SqliteFhirRepository(db2, { searchIndex: false });
    const added = await plain.createResource<Resource>({ ...doc(2), id: undefined });
    expect(plain.explainSearch(parseSearchRequest('DocumentReference?patient=p2'))).toBeUndefined(); // scans
    expect((await ids(plain, 'DocumentReference?patient=p2')).ids).toEqual([added.id]);
    db2.close();

    const db3 = openFhirDatabase(file);
    try {
      const again = new SqliteFhirRepository(db3);
      await again.searchIndexReady();
      expect(again.explainSearch(parseSearchRequest('DocumentReference?patient=p2'))).toBeDefined();
      expect((await ids(again, 'DocumentReference?patient=p2')).ids).toEqual([added.id]);
      expect((await ids(again, 'DocumentReference?_count=0')).total).toBe(2);
    } finally {
      db3.close();
    }
  });

  test('an index row that disagrees with the resource is caught by the matcher: right answer, one warning', async () => {
    const db = openFhirDatabase(tempPath());
    try {
      const logs: { m: string; meta?: object }[] = [];
      const repo = new SqliteFhirRepository(db, { logger: logger(logs) });
      const stored = await repo.createResource<Resource>({ ...doc(3), id: undefined });
      const { rid } = db.prepare('SELECT rid FROM search_resource WHERE id = ?').get(stored.id) as { rid: number };
      const { pid } = db.prepare("SELECT pid FROM search_param WHERE resource_type = 'DocumentReference' AND code = 'identifier'").get() as { pid: number };
      db.prepare("INSERT INTO search_token (rid, pid, system, value) VALUES (?, ?, '', 'forged')").run(rid, pid);

      expect(await ids(repo, 'DocumentReference?identifier=forged')).toEqual({ total: 0, ids: [] });
      expect(logs).toEqual([
        { m: 'FHIR search index disagrees with the matcher; answering from candidates', meta: { resourceType: 'DocumentReference', codes: ['identifier'] } },
      ]);
    } finally {
      db.close();
    }
  });
});
