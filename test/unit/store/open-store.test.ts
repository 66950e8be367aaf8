/** openStore: the service and the CLI open the store DATABASE_URL names, else the embedded SQLite store. */
import { openStore } from '../../../src/store/open-store.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { freshDatabase, POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../../helpers/postgres.js';
import { tempDir } from '../../helpers/tmp.js';

test('without DATABASE_URL: the embedded SQLite store in DATA_DIR', async () => {
  const tmp = tempDir();
  const store = await openStore({ dataDir: tmp.dir });
  try {
    expect(store).toBeInstanceOf(SqliteStore);
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

(TEST_DATABASE_URL ? test : test.skip)(TEST_DATABASE_URL ? 'with DATABASE_URL: PostgreSQL, migrated, the same data for every opener' : POSTGRES_SKIPPED, async () => {
  const db = await freshDatabase('open_store');
  const tmp = tempDir();
  try {
    const a = await openStore({ databaseUrl: db.url, dataDir: tmp.dir }, { instanceId: 'a' });
    const b = await openStore({ databaseUrl: db.url, dataDir: tmp.dir });
    try {
      expect(a).toBeInstanceOf(PostgresStore);
      await a.records.putRecord({ kind: 'participant', record: { id: 'p-1', client: { mrn: 'M' }, relationship: 'mother' }, clientMrn: 'M', clientKey: 'M', targets: ['t1'] });
      expect((await b.records.getRecord('participant', 'p-1'))?.version).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    await db.drop();
    tmp.cleanup();
  }
});
