/**
 * PostgreSQL for tests: TEST_DATABASE_URL names a server (scripts/test-postgres.sh starts a throwaway
 * one on loopback). Suites that need it declare themselves skipped, loudly, when it is absent; with
 * REQUIRE_POSTGRES=1 (CI) they fail instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

export const POSTGRES_SKIPPED = 'SKIPPED: set TEST_DATABASE_URL (eval "$(scripts/test-postgres.sh start)") to run the PostgreSQL tests';

if (!TEST_DATABASE_URL && process.env.REQUIRE_POSTGRES === '1') {
  throw new Error('REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL tests must run here');
}

/** A new, empty database on the test server; drop() removes it (after every connection to it closed). */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL as string);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
