/**
 * How the CLI finds the service (src/cli/cli-config.ts resolveServiceConnection): the same variables as
 * npm start, each overridable by a flag, and every source named.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveServiceConnection } from '../../src/cli/cli-config.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('collateral-conn-');
afterAll(() => tmp.cleanup());

describe('resolveServiceConnection', () => {
  test('the defaults: http://127.0.0.1:8080 and ./data/api-token, each named as the default', () => {
    const c = resolveServiceConnection({});
    expect(c.url).toBe('http://127.0.0.1:8080');
    expect(c.urlSource).toBe('the defaults (PORT and HOST unset)');
    expect(c.tokenFile).toBe(join(process.cwd(), 'data', 'api-token'));
  });

  test('PORT and HOST as the service reads them; a service on every interface is reached on loopback', () => {
    expect(resolveServiceConnection({ PORT: '9123', HOST: '0.0.0.0' })).toMatchObject({ url: 'http://127.0.0.1:9123', urlSource: 'PORT=9123 and HOST=0.0.0.0' });
    expect(resolveServiceConnection({ HOST: '::1' }).url).toBe('http://[::1]:8080');
    expect(resolveServiceConnection({ PORT: '9123' }, { url: 'http://svc.internal:81/' })).toMatchObject({ url: 'http://svc.internal:81', urlSource: '--url' });
  });

  test('the token: --token, then API_TOKEN, then the first of API_TOKENS, then DATA_DIR/api-token (or --data-dir)', () => {
    const dir = join(tmp.dir, 'data dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'api-token'), 'from-the-file-0123456789\n');
    const env = { DATA_DIR: dir, API_TOKENS: 'first-token-0123456789,second-token-0123456789', API_TOKEN: 'client-token' };
    expect(resolveServiceConnection(env, { token: 'flag-token' })).toMatchObject({ token: 'flag-token', tokenSource: '--token' });
    expect(resolveServiceConnection(env)).toMatchObject({ token: 'client-token', tokenSource: 'API_TOKEN', tokenShell: 'TOKEN="$API_TOKEN"' });
    const { API_TOKEN: _a, ...withoutClientToken } = env;
    expect(resolveServiceConnection(withoutClientToken)).toMatchObject({ token: 'first-token-0123456789', tokenSource: 'API_TOKENS (its first token)' });
    expect(resolveServiceConnection({ DATA_DIR: dir })).toMatchObject({
      token: 'from-the-file-0123456789',
      tokenSource: `${join(dir, 'api-token')} (from DATA_DIR=${dir})`,
      tokenShell: `TOKEN=$(cat '${join(dir, 'api-token')}')`,
    });
    expect(resolveServiceConnection({}, { dataDir: dir })).toMatchObject({ token: 'from-the-file-0123456789', tokenSource: `${join(dir, 'api-token')} (from --data-dir)` });
  });

  test('no token: says everything it tried', () => {
    const c = resolveServiceConnection({ DATA_DIR: join(tmp.dir, 'nowhere') });
    expect(c.token).toBeUndefined();
    expect(c.tokenSource).toContain(`--token is not given, API_TOKEN and API_TOKENS are unset, and ${join(tmp.dir, 'nowhere', 'api-token')}`);
  });

  test('a bad variable fails as the service start fails, naming every problem', () => {
    expect(() => resolveServiceConnection({ PORT: '-1', API_TOKENS: 'short' })).toThrow(
      /PORT must be a whole number from 0 to 65535 \(got "-1"\)[\s\S]*API_TOKENS must be comma-separated tokens of at least 16 characters/
    );
  });
});
