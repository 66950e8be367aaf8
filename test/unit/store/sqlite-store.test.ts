import { join } from 'node:path';
import type { Participant } from '../../../src/domain/records.js';
import { LEGACY_MIGRATION_ORDER, STORE_MIGRATIONS } from '../../../src/store/sqlite/migrations.js';
import { RECORD_QUERY_MIGRATIONS } from '../../../src/store/sqlite/record-queries.js';
import { SqliteStore, openDatabase } from '../../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../../helpers/tmp.js';

const participant = (id: string, mrn = 'MRN-1'): Participant => ({
  id,
  client: { mrn },
  relationship: 'mother',
  name: { family: 'Test' },
});

/** SQLite-only behaviour; what every store does is in test/store-contract/. */
describe('SqliteStore', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let path: string;
  beforeEach(() => {
    tmp = tempDir();
    path = join(tmp.dir, 's.sqlite');
    store = new SqliteStore(path);
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  test.each(['full', 'wal-fdatasync'] as const)('in memory (%s): no WAL file to sync, and a group commit still commits', async (mode) => {
    const memory = SqliteStore.inMemory(mode);
    try {
      expect(memory.db.raw.memory).toBe(true);
      expect(memory.db.raw.pragma('journal_mode', { simple: true })).toBe('memory');
      const [outcome] = await memory.records.putRecordGroup([{ input: { kind: 'participant', record: participant('p-m'), clientMrn: 'MRN-1', clientKey: 'MRN-1', targets: ['t1'] } }]);
      expect(outcome).toMatchObject({ ok: true, result: { record: { version: 1 } } });
      expect(await memory.status.outboxSize('t1')).toBe(1);
    } finally {
      await memory.close();
    }
  });

  test('uses WAL with synchronous=FULL', () => {
    const db = openDatabase(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    db.close();
  });

  test('a database from before named migrations (PRAGMA user_version) keeps its data and gets only the new ones', async () => {
    await store.close();
    const legacyPath = join(tmp.dir, 'legacy.sqlite');
    const legacy = openDatabase(legacyPath);
    for (const m of STORE_MIGRATIONS.slice(0, LEGACY_MIGRATION_ORDER.length)) {
      legacy.exec(m.sql);
    }
    legacy.pragma(`user_version = ${LEGACY_MIGRATION_ORDER.length}`);
    legacy
      .prepare("INSERT INTO records (kind, id, client_mrn, version, hash, body, received_at, updated_at) VALUES ('participant', 'p-old', 'MRN-1', 1, 'h', ?, 'x', 'x')")
      .run(JSON.stringify(participant('p-old')));
    legacy.close();
    // Opening runs no legacy migration twice (a second CREATE TABLE records would throw).
    store = new SqliteStore(legacyPath);
    expect((await store.records.getRecord('participant', 'p-old'))?.id).toBe('p-old');
    expect(store.db.appliedMigrations()).toEqual([...STORE_MIGRATIONS, ...RECORD_QUERY_MIGRATIONS].map((m) => m.id));
    expect(store.db.raw.pragma('user_version', { simple: true })).toBe(0);
  });
});
