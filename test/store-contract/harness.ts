/**
 * Runs one set of behavioural tests against every store implementation: the embedded SQLite store
 * always (on a file, and on an in-memory database: the fast store of the sync unit tests), the PostgreSQL store when TEST_DATABASE_URL names a database (scripts/test-postgres.sh starts
 * a throwaway one). Without it the PostgreSQL suites report themselves SKIPPED, loudly; with
 * REQUIRE_POSTGRES=1 (CI) a missing TEST_DATABASE_URL fails instead.
 *
 * Each test gets a fresh store: a new SQLite file or in-memory database, or a new PostgreSQL schema
 * (dropped afterwards). Tests that reopen the store (durability) are declared with `durable(...)`: an
 * in-memory database ends with its connection, so for it they are skipped, their name saying why.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { POSTGRES_SKIPPED, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';


/** One fresh store of an implementation, and what the tests may do with it. */
export interface StoreHandle {
  store: Store;
  /** Closes the store and opens it again on the same data (a restart of the same instance). */
  reopen(): Promise<Store>;
  /**
   * Another instance on the same data, open at the same time (a shared database only).
   * @param instanceId - its stable name; the same as the first store's to simulate that instance's restart.
   */
  openSibling?(instanceId?: string): Promise<Store>;
  /** The first store's instance name, where the implementation has one. */
  instanceId?: string;
}

interface Implementation {
  name: string;
  /** Why it does not run here, if it does not. */
  skipped?: string;
  /** Why reopening the store (a restart) means nothing for it, if it does not. */
  notDurable?: string;
  open(): Promise<{ handle: StoreHandle; cleanup(): Promise<void> }>;
}

const sqlite: Implementation = {
  name: 'SQLite',
  async open() {
    const tmp = tempDir();
    const path = join(tmp.dir, 's.sqlite');
    const handle: StoreHandle = {
      store: new SqliteStore(path),
      async reopen() {
        await handle.store.close();
        handle.store = new SqliteStore(path);
        return handle.store;
      },
    };
    return {
      handle,
      async cleanup() {
        await handle.store.close();
        tmp.cleanup();
      },
    };
  },
};

/**
 * The real SQLite store on a better-sqlite3 `:memory:` database, not a stand-in: the same SQL, schema,
 * migrations and transactions, without a file (so without WAL, fsync or a restart).
 */
const sqliteMemory: Implementation = {
  name: 'SQLite in memory',
  notDurable: 'an in-memory database ends with its connection: there is nothing to reopen',
  async open() {
    const handle: StoreHandle = {
      store: SqliteStore.inMemory(),
      reopen() {
        throw new Error('an in-memory store cannot be reopened');
      },
    };
    return { handle, cleanup: () => handle.store.close() };
  },
};

const postgres: Implementation = {
  name: 'PostgreSQL',
  ...(TEST_DATABASE_URL ? {} : { skipped: POSTGRES_SKIPPED }),
  async open() {
    const connectionString = TEST_DATABASE_URL as string;
    const schema = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
    const instanceId = `instance-${schema}`;
    const opened: Store[] = [];
    const open = async (id: string): Promise<Store> => {
      const s = await PostgresStore.open({ connectionString, schema, instanceId: id, maxConnections: 4 });
      opened.push(s);
      return s;
    };
    const handle: StoreHandle = {
      store: await open(instanceId),
      instanceId,
      async reopen() {
        await handle.store.close();
        handle.store = await open(instanceId);
        return handle.store;
      },
      openSibling: (id?: string) => open(id ?? `sibling-${randomBytes(4).toString('hex')}`),
    };
    return {
      handle,
      async cleanup() {
        await Promise.all(opened.map((s) => s.close().catch(() => {})));
        const c = new pg.Client({ connectionString });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  },
};

export const IMPLEMENTATIONS: Implementation[] = [sqlite, sqliteMemory, postgres];

/** Declares one test. */
export type TestDeclaration = (name: string, fn: () => Promise<void>) => void;

/** How a contract body declares tests that not every implementation can run. */
export interface ContractScope {
  /** A test that reopens the store (a restart): skipped, with the reason in its name, where that means nothing (in memory). */
  durable: TestDeclaration;
}

/**
 * Declares `body`'s tests once per implementation, each test with a fresh store (`h()` returns its handle).
 * @param only - implementations to run (e.g. those with openSibling, for multi-instance behaviour).
 */
export function describeStores(
  title: string,
  body: (h: () => StoreHandle, scope: ContractScope) => void,
  only?: (impl: Implementation) => boolean
): void {
  for (const impl of IMPLEMENTATIONS.filter(only ?? (() => true))) {
    if (impl.skipped) {
      describe(`${impl.name} store: ${title}`, () => {
        // Loud on purpose: a skipped contract is a gap, not a pass.
        process.stderr.write(`${impl.name} store contract "${title}": ${impl.skipped}\n`);
        test.skip(impl.skipped as string, () => {});
      });
      continue;
    }
    describe(`${impl.name} store: ${title}`, () => {
      let handle: StoreHandle;
      let cleanup: () => Promise<void>;
      beforeEach(async () => {
        ({ handle, cleanup } = await impl.open());
      });
      afterEach(async () => {
        await cleanup();
      });
      const durable: TestDeclaration = impl.notDurable
        ? (name) => test.skip(`${name} [not applicable: ${impl.notDurable}]`, () => {})
        : (name, fn) => test(name, fn);
      body(() => handle, { durable });
    });
  }
}

/** Only implementations where several instances share one database. */
export const sharedOnly = (impl: Implementation): boolean => impl.name === 'PostgreSQL';
