/** DATABASE_URL (issue #12, docs/postgres.md): the PostgreSQL store, and the refusal without FHIR_BASE_URL. */
import { loadConfig } from '../../src/config.js';

describe('loadConfig: DATABASE_URL', () => {
  const url = 'postgres://collateral:s3cret-pw@db.example.org:5432/collateral';

  test('unset: the embedded SQLite store', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
  });

  test('with FHIR_BASE_URL: the PostgreSQL store, and an instance name stable across restarts', () => {
    const c = loadConfig({ DATABASE_URL: url, FHIR_BASE_URL: 'https://ehr.example.org/fhir', DATA_DIR: '/srv/a' });
    expect(c.databaseUrl).toBe(url);
    expect(c.instanceId).toMatch(/:\/srv\/a$/);
    expect(loadConfig({ DATABASE_URL: url, FHIR_BASE_URL: 'https://ehr.example.org/fhir', INSTANCE_ID: 'node-2' }).instanceId).toBe('node-2');
  });

  test('without FHIR_BASE_URL the service refuses to start and tells the operator to set it', () => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(/DATABASE_URL is set but FHIR_BASE_URL is not.*set FHIR_BASE_URL/);
  });

  test('a URL that is not PostgreSQL is refused without repeating it (it may hold a password)', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:s3cret-pw@h/db', FHIR_BASE_URL: 'https://ehr.example.org/fhir' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('DATABASE_URL must be a PostgreSQL URL');
    expect(message).not.toContain('s3cret-pw');
  });
});
