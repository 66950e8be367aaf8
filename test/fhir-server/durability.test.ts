import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSearchRequest } from '@medplum/core';
import type { Patient } from '@medplum/fhirtypes';
import { openFhirDatabase, type FhirDatabase } from '../../src/fhir-server/database.js';
import { SqliteFhirRepository } from '../../src/fhir-server/sqlite-repository.js';
import { patient, sendJson, startHarness, SYS } from './helpers.js';

const tempDirs: string[] = [];
const openDbs: FhirDatabase[] = [];

function tempDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-repo-'));
  tempDirs.push(dir);
  return path.join(dir, 'fhir.sqlite');
}

/** A repository on a fresh temp file; its connection is closed after the suite. */
function openRepo(dbPath = tempDb()): SqliteFhirRepository {
  const db = openFhirDatabase(dbPath);
  openDbs.push(db);
  return new SqliteFhirRepository(db);
}

afterAll(() => {
  openDbs.forEach((db) => db.close());
  for (const dir of tempDirs) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('embedded FHIR server: persistence', () => {
  test('resources and their history survive closing and reopening the database', async () => {
    const h1 = await startHarness();
    const created = await sendJson(h1, 'post', '/fhir/Patient', patient('persist-1'));
    const id = created.body.id;
    await sendJson(h1, 'put', `/fhir/Patient/${id}`, { ...patient('persist-1'), id, gender: 'female' });
    const gone = await sendJson(h1, 'post', '/fhir/Patient', patient('persist-deleted'));
    await h1.http().delete(`/fhir/Patient/${gone.body.id}`);
    await h1.close(true);

    const h2 = await startHarness(h1.dir);
    try {
      const read = await h2.http().get(`/fhir/Patient/${id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ gender: 'female', meta: { versionId: '2' } });
      const history = await h2.http().get(`/fhir/Patient/${id}/_history`);
      expect(history.body.total).toBe(2);
      expect((await h2.http().get(`/fhir/Patient/${id}/_history/1`)).body.gender).toBeUndefined();
      expect((await h2.http().get(`/fhir/Patient/${gone.body.id}`)).status).toBe(410);
      const search = await h2.http().get('/fhir/Patient').query({ identifier: `${SYS}|persist-1` });
      expect(search.body.total).toBe(1);
      // Versions continue where they stopped.
      const next = await sendJson(h2, 'put', `/fhir/Patient/${id}`, { ...patient('persist-1'), id, gender: 'male' });
      expect(next.body.meta.versionId).toBe('3');
    } finally {
      await h2.close();
    }
  });

  test('a committed write is visible to a new connection while the first was never closed (as after kill -9)', async () => {
    const dbPath = tempDb();
    const crashed = openRepo(dbPath);
    const p = await crashed.createResource<Patient>(patient('crash-1'));
    // No close(), no checkpoint: the data lives in the WAL file only.
    const db2 = openFhirDatabase(dbPath);
    try {
      const repo2 = new SqliteFhirRepository(db2);
      expect((await repo2.readResource<Patient>('Patient', p.id)).identifier?.[0].value).toBe('crash-1');
    } finally {
      db2.close();
    }
  });

  test('a storage failure answers 500 without details, and is logged without content', async () => {
    const h = await startHarness();
    try {
      h.fhir.close(); // the connection is gone: every statement now throws
      const res = await h.http().get('/fhir/Patient/anything');
      expect(res.status).toBe(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(res.body)).not.toMatch(/diagnostics|stack|database/i);
      expect(h.errors).toHaveLength(1);
      expect(JSON.stringify(h.errors[0])).toMatch(/TypeError/);
    } finally {
      await h.close();
    }
  });

  test('openFhirDatabase sets WAL, synchronous=FULL and foreign keys, and is idempotent', () => {
    const dbPath = tempDb();
    openFhirDatabase(dbPath).close();
    const db = openFhirDatabase(dbPath);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

describe('embedded FHIR server: concurrency and transactions', () => {
  test('50 parallel conditional creates of one identifier yield exactly one resource', async () => {
    const h = await startHarness();
    try {
      const ifNoneExist = { 'If-None-Exist': `identifier=${SYS}|race-1` };
      const results = await Promise.all(
        Array.from({ length: 50 }, () => sendJson(h, 'post', '/fhir/Patient', patient('race-1'), ifNoneExist))
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 200)).toHaveLength(49);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const search = await h.http().get('/fhir/Patient').query({ identifier: `${SYS}|race-1` });
      expect(search.body.total).toBe(1);
    } finally {
      await h.close();
    }
  });

  test('50 conditional creates started in the same tick (repository level) yield exactly one resource', async () => {
    const repo = openRepo();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        repo.conditionalCreate(patient('race-3'), parseSearchRequest<Patient>(`Patient?identifier=${SYS}|race-3`))
      )
    );
    expect(new Set(results.map((r) => r.resource.id)).size).toBe(1);
    expect(await repo.searchResources(parseSearchRequest(`Patient?identifier=${SYS}|race-3`))).toHaveLength(1);
  });

  test('50 parallel conditional updates of one identifier yield one resource', async () => {
    const h = await startHarness();
    try {
      const url = `/fhir/Patient?identifier=${encodeURIComponent(SYS)}|race-2`;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          sendJson(h, 'put', url, { ...patient('race-2'), gender: i % 2 ? 'male' : 'female' })
        )
      );
      expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    } finally {
      await h.close();
    }
  });

  test('withTransaction rolls back on throw, nests as a savepoint, and hides uncommitted writes', async () => {
    const repo = openRepo();
    const search = (mrn: string): Promise<Patient[]> =>
      repo.searchResources<Patient>(parseSearchRequest<Patient>(`Patient?identifier=${SYS}|${mrn}`));

    await expect(
      repo.withTransaction(async () => {
        await repo.createResource(patient('rb-1'));
        expect(await search('rb-1')).toHaveLength(1); // visible inside
        throw new Error('boom');
      })
    ).rejects.toThrow('boom');
    expect(await search('rb-1')).toHaveLength(0);

    await repo.withTransaction(async () => {
      await repo.createResource(patient('outer-1'));
      await expect(
        repo.withTransaction(async () => {
          await repo.createResource(patient('inner-1'));
          throw new Error('inner');
        })
      ).rejects.toThrow('inner');
    });
    expect(await search('outer-1')).toHaveLength(1);
    expect(await search('inner-1')).toHaveLength(0);

    // A reader outside waits for the open transaction instead of seeing its uncommitted write.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tx = repo.withTransaction(async () => {
      await repo.createResource(patient('pending-1'));
      await gate;
      throw new Error('abort');
    });
    await new Promise((resolve) => setImmediate(resolve));
    const outside = search('pending-1');
    release();
    await expect(tx).rejects.toThrow('abort');
    expect(await outside).toHaveLength(0);
  });

  test('readReferences, searchByReference and _sort', async () => {
    const repo = openRepo();
    const a = await repo.createResource<Patient>({ ...patient('ref-a'), birthDate: '2001-01-01' });
    const b = await repo.createResource<Patient>({ ...patient('ref-b'), birthDate: '1999-01-01' });
    const refs = await repo.readReferences([{ reference: `Patient/${a.id}` }, { reference: 'Patient/missing' }]);
    expect((refs[0] as Patient).id).toBe(a.id);
    expect(refs[1]).toBeInstanceOf(Error);
    const sorted = await repo.searchResources<Patient>(parseSearchRequest<Patient>('Patient?_sort=birthdate'));
    expect(sorted.map((p) => p.id)).toEqual([b.id, a.id]);
    const desc = await repo.searchResources<Patient>(parseSearchRequest<Patient>('Patient?_sort=-birthdate'));
    expect(desc.map((p) => p.id)).toEqual([a.id, b.id]);
    await repo.createResource({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: `Patient/${a.id}` },
    });
    const byRef = await repo.searchByReference(parseSearchRequest('Encounter'), 'subject', [`Patient/${a.id}`, `Patient/${b.id}`]);
    expect(byRef[`Patient/${a.id}`]).toHaveLength(1);
    expect(byRef[`Patient/${b.id}`]).toHaveLength(0);
  });
});
