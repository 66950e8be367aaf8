/**
 * Named credentials: the keys file's schema (every problem with its path), the CLI (a token printed
 * once, only its hash stored, atomic 0600 writes), the running service picking up additions and
 * revocations, failing closed on a broken file, and API_TOKENS / the generated token acting as admin.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, KeysFileError, parseKeysFile, readKeysFile } from '../../src/auth/keys-file.js';
import { KeyRegistry } from '../../src/auth/key-registry.js';
import { ROLES } from '../../src/auth/principal.js';
import { keysCommand } from '../../src/cli/keys-command.js';
import { loadTestConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { memoryIo } from '../../src/cli/io.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecuredService } from './helpers.js';

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parseKeysFile(text, 'keys.json');
  } catch (err) {
    expect(err).toBeInstanceOf(KeysFileError);
    return (err as KeysFileError).problems.map(({ path, message }) => ({ path, message }));
  }
  return [];
}

describe('the keys file', () => {
  const hash = 'a'.repeat(64);

  test('every problem at once, each with its JSON path', () => {
    const problems = problemsOf(
      JSON.stringify([
        { name: 'ehr-feed', roles: ['source'], tokenSha256: hash },
        { name: 'bad name!', roles: ['source', 'root'], tokenSha256: 'xyz', extra: 1 },
        { name: 'ehr-feed', roles: [], tokenSha256: hash },
        { roles: ['analyst'] },
        { name: 'sync', roles: ['admin'], tokenSha256: 'b'.repeat(64) },
      ])
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/1/name', '/1/roles/1', '/1/tokenSha256', '/1/extra', '/2/roles', '/2/name', '/2/tokenSha256', '/3/name', '/3/tokenSha256', '/4/name'])
    );
    expect(problems.find((p) => p.path === '/2/name')?.message).toMatch(/repeats the name of key 0/);
    expect(problems.find((p) => p.path === '/2/tokenSha256')?.message).toMatch(/same token as key 0/);
    expect(problems.find((p) => p.path === '/4/name')?.message).toMatch(/reserved/);
    expect(problems.find((p) => p.path === '/1/roles/1')?.message).toContain(ROLES.join(', '));
  });

  test('not JSON, not an array', () => {
    expect(problemsOf('{nope')).toEqual([{ path: '', message: 'is not valid JSON' }]);
    expect(problemsOf('{}')[0]).toMatchObject({ path: '', message: 'must be an array' });
  });

  test('the schema offers exactly the assignable roles', () => {
    const schema = JSON.parse(readFileSync(join(process.cwd(), 'schemas', 'api-keys.schema.json'), 'utf8'));
    expect(schema.items.properties.roles.items.enum).toEqual([...ROLES]);
  });
});

describe('keys add | list | revoke', () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'keys.json');
  afterAll(() => tmp.cleanup());

  test('add prints the token once on stdout, stores only its SHA-256, writes 0600', () => {
    const io = memoryIo({}, { API_KEYS_FILE: file });
    expect(keysCommand(['add', '--name', 'ehr-feed', '--role', 'source', '--role', 'operator'], io)).toBe(0);
    const token = io.stdout().trim();
    expect(token).toMatch(/^cfk_[A-Za-z0-9_-]{43}$/);
    expect(io.stderr()).toMatch(/shown once/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(readKeysFile(file)).toEqual([{ name: 'ehr-feed', roles: ['source', 'operator'], tokenSha256: hashToken(token), createdAt: expect.any(String) }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  test('a taken name or an unknown role is refused and nothing is written', () => {
    const before = readFileSync(file, 'utf8');
    const io = memoryIo({}, { API_KEYS_FILE: file });
    expect(keysCommand(['add', '--name', 'ehr-feed', '--role', 'analyst'], io)).toBe(1);
    expect(io.stderr()).toMatch(/--name: repeats the name of key 0/);
    const io2 = memoryIo({}, { API_KEYS_FILE: file });
    expect(keysCommand(['add', '--name', 'x', '--role', 'root'], io2)).toBe(1);
    expect(io2.stderr()).toMatch(/--role: must be one of/);
    expect(io.stdout() + io2.stdout()).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  test('list shows names and roles, never hashes; revoke removes', () => {
    const io = memoryIo({}, {});
    expect(keysCommand(['add', '--file', file, '--name', 'analytics', '--role', 'analyst'], io)).toBe(0);
    const list = memoryIo({}, { API_KEYS_FILE: file });
    expect(keysCommand(['list'], list)).toBe(0);
    expect(list.stdout()).toMatch(/ehr-feed\s+source,operator/);
    expect(list.stdout()).toMatch(/analytics\s+analyst/);
    expect(list.stdout()).not.toMatch(/[0-9a-f]{64}/);
    expect(keysCommand(['revoke', '--name', 'analytics'], memoryIo({}, { API_KEYS_FILE: file }))).toBe(0);
    expect(readKeysFile(file).map((k) => k.name)).toEqual(['ehr-feed']);
    expect(keysCommand(['revoke', '--name', 'analytics'], memoryIo({}, { API_KEYS_FILE: file }))).toBe(1);
  });

  test('usage errors exit 2', () => {
    expect(keysCommand(['add', '--name', 'x'], memoryIo({}, { API_KEYS_FILE: file }))).toBe(2);
    expect(keysCommand(['list'], memoryIo({}, {}))).toBe(2);
    expect(keysCommand(['frobnicate'], memoryIo({}, { API_KEYS_FILE: file }))).toBe(2);
  });
});

// Polling with a token not yet (or no longer) valid fails authentication on purpose: no address lockout here.
const NO_LOCKOUT = { AUTH_FAILURE_LIMIT: '100000' };

describe('the running service and its keys', () => {
  test('a key works with its roles only; an added key works and a revoked one stops within the reload interval', async () => {
    const s = await startSecuredService(NO_LOCKOUT);
    try {
      expect((await s.call('source', 'GET', '/api/v1/sync/status')).status).toBe(403);
      expect((await s.call('operator', 'GET', '/api/v1/sync/status')).status).toBe(200);

      const io = memoryIo({}, { API_KEYS_FILE: s.keysFile });
      expect(keysCommand(['add', '--name', 'late-operator', '--role', 'operator'], io)).toBe(0);
      const late = io.stdout().trim();
      await waitFor(async () => (await s.call(`token:${late}`, 'GET', '/api/v1/sync/status')).status === 200, 10_000, 'the new key');

      expect(keysCommand(['revoke', '--name', 'operator-key'], memoryIo({}, { API_KEYS_FILE: s.keysFile }))).toBe(0);
      await waitFor(async () => (await s.call('operator', 'GET', '/api/v1/sync/status')).status === 401, 10_000, 'the revocation');
      expect((await s.call(`token:${late}`, 'GET', '/api/v1/sync/status')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test('a keys file broken while running accepts no key of it (fail closed) until fixed; the admin token still works', async () => {
    const s = await startSecuredService(NO_LOCKOUT);
    try {
      const good = readFileSync(s.keysFile, 'utf8');
      writeFileSync(s.keysFile, good.replace('"source"', '"sourcery"'));
      await waitFor(async () => (await s.call('operator', 'GET', '/api/v1/sync/status')).status === 401, 10_000, 'fail closed');
      expect((await s.svc.api('GET', '/api/v1/sync/status')).status).toBe(200);
      expect(s.svc.logs()).toMatch(/API keys file invalid: no key of it is accepted/);
      expect(s.svc.logs()).toContain('/0/roles/0');
      writeFileSync(s.keysFile, good);
      await waitFor(async () => (await s.call('operator', 'GET', '/api/v1/sync/status')).status === 200, 10_000, 'recovery');
    } finally {
      await s.close();
    }
  });

  test('an invalid keys file stops the start, naming every problem; a missing one too', async () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'keys.json');
      writeFileSync(file, JSON.stringify([{ name: 'a', roles: ['nope'], tokenSha256: 'x' }]));
      const config = loadTestConfig(join(tmp.dir, 'data'), { API_KEYS_FILE: file });
      await expect(startService(config)).rejects.toThrow(/\/0\/roles\/0[\s\S]*\/0\/tokenSha256/);
      const missing = loadTestConfig(join(tmp.dir, 'data2'), { API_KEYS_FILE: join(tmp.dir, 'none.json') });
      await expect(startService(missing)).rejects.toThrow(/does not exist; create it with: npx collateral-fhir keys add/);
    } finally {
      tmp.cleanup();
    }
  });

  test('the registry looks keys up by the token\'s hash', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'keys.json');
      writeFileSync(file, JSON.stringify([{ name: 'k', roles: ['analyst'], tokenSha256: hashToken('secret-token-value') }]));
      const reg = new KeyRegistry(file);
      expect(reg.lookup(hashToken('secret-token-value'))).toMatchObject({ name: 'k', roles: ['analyst'], via: 'api-key' });
      expect(reg.lookup(hashToken('other'))).toBeUndefined();
    } finally {
      tmp.cleanup();
    }
  });

  test('API_TOKENS and the generated first-start token act as admin', async () => {
    const s = await startSecuredService();
    try {
      const r = await s.svc.api('GET', '/api/v1/clients/MRN-1/disclosures');
      expect(r.status).toBe(200);
    } finally {
      await s.close();
    }
    const tmp = tempDir();
    try {
      const config = loadTestConfig(tmp.dir, { API_TOKENS: '', SYNC_ENABLED: 'false' });
      const svc = await startService(config);
      try {
        const token = readFileSync(join(tmp.dir, 'api-token'), 'utf8').trim();
        const r = await fetch(`${svc.url}/api/v1/audit/access`, { headers: { authorization: `Bearer ${token}` } });
        expect(r.status).toBe(200);
      } finally {
        await svc.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
