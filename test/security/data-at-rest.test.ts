/**
 * Data at rest: a fresh DATA_DIR is 0700 and every file the service writes in it (both SQLite
 * databases with their -wal and -shm files, the generated API token) is 0600; an existing directory or
 * file that is looser gets a warning at start naming it.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadTestConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { startTestService } from '../helpers/service.js';
import { records, seedBundle } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('data at rest', () => {
  test('a fresh data dir is 0700 and every file in it 0600, -wal and -shm included', async () => {
    const tmp = tempDir();
    const dataDir = join(tmp.dir, 'nested', 'data');
    const svc = await startTestService(dataDir, { API_TOKENS: '' });
    try {
      // Write to both databases: the embedded FHIR server and the store.
      expect((await svc.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' })).status).toBe(200);
      expect((await svc.api('PUT', '/api/v1/participants/p-001', records.participant)).status).toBe(201);
      const files = readdirSync(dataDir);
      expect(files).toEqual(
        expect.arrayContaining(['api-token', 'collateral.sqlite', 'collateral.sqlite-wal', 'collateral.sqlite-shm', 'fhir.sqlite', 'fhir.sqlite-wal', 'fhir.sqlite-shm'])
      );
      expect(mode(dataDir)).toBe(0o700);
      for (const f of files) {
        // Folders (exports/: one folder per export job, docs/exports.md) are 0700 like the data dir.
        expect([f, mode(join(dataDir, f))]).toEqual([f, statSync(join(dataDir, f)).isDirectory() ? 0o700 : 0o600]);
      }
      expect(svc.logs()).not.toMatch(/permissions are looser/);
    } finally {
      await svc.close();
      tmp.cleanup();
    }
  });

  test('a looser existing data dir or file is named in a warning at start, with the fix', async () => {
    const tmp = tempDir();
    const dataDir = join(tmp.dir, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'collateral.sqlite'), '');
    chmodSync(join(dataDir, 'collateral.sqlite'), 0o644);
    const logs = new PassThrough();
    let text = '';
    logs.on('data', (c: Buffer) => (text += c.toString()));
    const svc = await startService(loadTestConfig(dataDir, { LOG_LEVEL: 'warn', SYNC_ENABLED: 'false' }), { logStream: logs });
    try {
      const warning = text.split('\n').find((l) => l.includes('permissions are looser'));
      expect(warning).toBeDefined();
      const meta = JSON.parse(warning!);
      expect(meta.loose).toEqual(
        expect.arrayContaining([
          { path: dataDir, mode: '0755' },
          { path: join(dataDir, 'collateral.sqlite'), mode: '0644' },
        ])
      );
      expect(meta.fix).toContain('chmod 700');
    } finally {
      await svc.close();
      tmp.cleanup();
    }
  });
});
