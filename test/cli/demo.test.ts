/**
 * The demo and the sync command find the service as `npm start` configures it (issue #14 item 3): a
 * real service on a non-default port and data directory, its generated token file, and the CLI given
 * the same environment (or flags). When they cannot connect they say exactly what they tried; their
 * hints print the real token path.
 */
import { join } from 'node:path';
import { demoCommand } from '../../src/cli/demo.js';
import { syncCommand } from '../../src/cli/sync-command.js';
import { tempDir } from '../helpers/tmp.js';
import { captureIo, closedPort, FAST_SYNC, startFromEnv, type EnvService } from './service-env.js';

/** The demo waits for the sync (--timeout 90): a loaded CI machine needs the room. */
const LONG = 180_000;

const tmp = tempDir('collateral-demo-');
const dataDir = join(tmp.dir, 'service data');
let svc: EnvService;

beforeAll(async () => {
  // No API_TOKENS: the service generates its token into DATA_DIR/api-token, as on a first `npm start`.
  svc = await startFromEnv({ ...FAST_SYNC, DATA_DIR: dataDir });
}, LONG);
afterAll(async () => {
  await svc.service.close();
  tmp.cleanup();
});

describe('npm run demo with the environment of npm start', () => {
  let first: ReturnType<typeof captureIo>;
  let code: number;

  beforeAll(async () => {
    first = captureIo(svc.env);
    code = await demoCommand(['--timeout', '90'], first);
  }, LONG);

  test('finds the service from PORT and the token from DATA_DIR/api-token, and says so', () => {
    expect(first.stderr()).toBe('');
    expect(code).toBe(0);
    expect(first.stdout()).toContain(
      `Service: ${svc.service.url} (URL from PORT=${svc.service.port}; token from ${join(dataDir, 'api-token')} (from DATA_DIR=${dataDir}))`
    );
    expect(first.stdout()).toContain(`Target:  the embedded FHIR server ${svc.service.url}/fhir`);
  }, LONG);

  test('seeds the five example Patients and Practitioners and imports the 44 records', () => {
    expect(first.stdout().match(/^ {3}(Patient MRN-100\d|Practitioner NPI \d{10}) +created +(Patient|Practitioner)\/\S+$/gm)).toHaveLength(5);
    expect(first.stdout()).toContain('2. Imported examples/records.ndjson: 44 accepted, 0 unchanged, 0 rejected.');
  }, LONG);

  test('reports every record with its state: synced with its FHIR resource, held with why, blocked by policy', () => {
    const out = first.stdout();
    expect(out.match(/^ {3}(participant|consent|session|note) +\S+ +(synced|held|blocked|not-writable|failed|dead-letter|pending) /gm)).toHaveLength(44);
    expect(out).toMatch(/^ {3}note +n-1001-01 +synced +DocumentReference\/[\w-]+\/_history\/1$/m);
    expect(out).toMatch(/^ {3}session +s-1003-02 +held +no-consent: no consent covers p-1003-employer/m);
    expect(out).toMatch(/^ {3}note +n-1002-03 +blocked +psychotherapy-note/m);
    expect(out).toMatch(/synced \d+, held \d+, not-writable 0, blocked 2, failed 0, dead-letter 0, pending 0/);
  }, LONG);

  test('its hints print the real token file, not data/api-token', () => {
    expect(first.stdout()).toContain(`TOKEN=$(cat '${join(dataDir, 'api-token')}')`);
    expect(first.stdout()).not.toContain('cat data/api-token');
    expect(first.stdout()).toContain(`curl -H "Authorization: Bearer $TOKEN" '${svc.service.url}/api/v1/sync/status'`);
  }, LONG);

  test('run again, it finds what it seeded and changes nothing', async () => {
    const again = captureIo(svc.env);
    expect(await demoCommand([], again)).toBe(0);
    expect(again.stdout().match(/ already there +(Patient|Practitioner)\//g)).toHaveLength(5);
    expect(again.stdout()).toContain('0 accepted, 44 unchanged, 0 rejected');
  }, LONG);
});

describe('flags instead of the environment', () => {
  test('--url, --data-dir', async () => {
    const io = captureIo({});
    const code = await syncCommand(['status', '--url', svc.service.url, '--data-dir', dataDir], io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(/^embedded: /m);
  }, LONG);

  test('--token and API_TOKEN', async () => {
    const token = svc.service.apiTokens[0];
    const viaFlag = captureIo({ PORT: svc.env.PORT });
    expect(await syncCommand(['status', '--token', token, '--json'], viaFlag)).toBe(0);
    expect(JSON.parse(viaFlag.stdout())).toHaveProperty('targets.embedded');
    const viaEnv = captureIo({ PORT: svc.env.PORT, API_TOKEN: token });
    expect(await syncCommand(['status'], viaEnv)).toBe(0);
  }, LONG);
});

describe('when it cannot connect, it says what it tried', () => {
  test('nothing listens at the URL: the URL and its source, the token source, the error', async () => {
    const port = await closedPort();
    for (const run of [demoCommand, (argv: string[], io: ReturnType<typeof captureIo>) => syncCommand(['status', ...argv], io)]) {
      const io = captureIo({ ...svc.env, PORT: String(port) });
      expect(await run([], io)).toBe(1);
      expect(io.stderr()).toContain(
        `Cannot reach the collateral-fhir service at http://127.0.0.1:${port} (URL from PORT=${port}; token from ${join(dataDir, 'api-token')} (from DATA_DIR=${dataDir})): connect ECONNREFUSED 127.0.0.1:${port}`
      );
    }
  }, LONG);

  test('no token anywhere: names the token file it looked for and how to get one', async () => {
    const empty = join(tmp.dir, 'empty');
    for (const run of [demoCommand, (argv: string[], io: ReturnType<typeof captureIo>) => syncCommand(['status', ...argv], io)]) {
      const io = captureIo({ PORT: svc.env.PORT, DATA_DIR: empty });
      expect(await run([], io)).toBe(2);
      expect(io.stderr()).toContain(`No API token for the service at ${svc.service.url} (URL from PORT=${svc.env.PORT})`);
      expect(io.stderr()).toContain(`${join(empty, 'api-token')} (from DATA_DIR=${empty}) does not exist`);
      expect(io.stdout()).toBe('');
    }
  }, LONG);

  test('a token the service refuses: HTTP 401 and where the token came from', async () => {
    const demo = captureIo(svc.env);
    expect(await demoCommand(['--token', 'not-the-service-token'], demo)).toBe(1);
    expect(demo.stderr()).toContain(`The service at ${svc.service.url} refused the token from --token (HTTP 401: The bearer token is not valid)`);
    const sync = captureIo({ ...svc.env, API_TOKENS: 'another-token-0123456789' });
    expect(await syncCommand(['status'], sync)).toBe(1);
    expect(sync.stderr()).toContain('refused the token from API_TOKENS (its first token) (HTTP 401');
  }, LONG);

  test('a bad setting is reported as the service reports it at start', async () => {
    const io = captureIo({ PORT: 'eighty' });
    expect(await demoCommand([], io)).toBe(2);
    expect(io.stderr()).toContain('PORT must be a whole number from 0 to 65535 (got "eighty")');
  }, LONG);
});
