/**
 * Configuring the medplum-like profile: `npm run fhir-target` flags and environment, the standalone
 * server's options, EMBEDDED_FHIR_PROFILE for the service's own /fhir, and the two rules the profile is
 * built on, checked directly: medplum's first-wildcard-scope access and the quota's fixed window.
 */
import { loadConfig } from '../../src/config.js';
import { DEFAULT_SCOPE_V1, DEFAULT_SCOPE_V2 } from '../../src/fhir/auth/scopes.js';
import { FhirQuota } from '../../src/fhir-server/medplum-quota.js';
import { accessForScope, canRead, canWrite } from '../../src/fhir-server/medplum-scopes.js';
import { parseTargetSettings } from '../../src/fhir-server/standalone-args.js';
import { startStandaloneFhirServer } from '../../src/fhir-server/standalone.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { bundle, createEntry, provenance, sample, urn } from './medplum-helpers.js';

describe('npm run fhir-target: flags and environment', () => {
  test('flags set every medplum-like option and win over the environment', () => {
    const s = parseTargetSettings(
      ['--profile', 'medplum-like', '--port', '0', '--atomic', '--quota', '500', '--quota-window', '2', '--conflict-rate', '0.1', '--seed', '7',
        '--client', 'sync:s3cret', '--client', 'other:x', '--token-lifetime', '60', '--no-retry-after'],
      { FHIR_PROFILE: 'oracle-like', MEDPLUM_FHIR_QUOTA: '9' }
    );
    expect(s).toMatchObject({ profile: 'medplum-like', port: 0, host: '127.0.0.1', dataDir: './data/fhir-target', logLevel: 'info' });
    expect(s.medplum).toEqual({
      atomicTransactions: true,
      quota: { points: 500, windowSeconds: 2 },
      conflictRate: 0.1,
      seed: 7,
      tokenLifetimeSeconds: 60,
      retryAfterHeader: false,
      clients: { sync: 's3cret', other: 'x' },
    });
  });

  test('the environment alone works too; other profiles carry no medplum options', () => {
    const s = parseTargetSettings([], {
      FHIR_PROFILE: 'medplum-like',
      MEDPLUM_ATOMIC_TRANSACTIONS: 'true',
      MEDPLUM_FHIR_QUOTA: '1000',
      MEDPLUM_CLIENTS: 'a:1,b:2',
      PORT: '9000',
    });
    expect(s).toMatchObject({ profile: 'medplum-like', port: 9000, medplum: { atomicTransactions: true, quota: { points: 1000 }, clients: { a: '1', b: '2' } } });
    expect(parseTargetSettings([], {}).medplum).toBeUndefined();
    expect(parseTargetSettings(['--profile', 'epic-like'], {})).toMatchObject({ profile: 'epic-like', port: 8090 });
  });

  test('every problem at once, each naming its flag and variable; secrets are never echoed', () => {
    let message = '';
    try {
      parseTargetSettings(['--profile', 'oracle-like', '--quota=-5', '--conflict-rate', '2', '--client', 'nosecret-TOPSECRET', '--port', 'x'], {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('--quota (MEDPLUM_FHIR_QUOTA) must be a whole number of 0 or more');
    expect(message).toContain('--conflict-rate (MEDPLUM_CONFLICT_RATE) must be from 0 to 1');
    expect(message).toContain('--client (MEDPLUM_CLIENTS) takes client_id:secret');
    expect(message).toContain('--port (PORT) must be a whole number');
    expect(message).toContain('medplum-like options, but the profile is oracle-like');
    expect(message).not.toContain('TOPSECRET');
    expect(() => parseTargetSettings(['--bogus'], {})).toThrow(/bogus/);
    expect(() => parseTargetSettings([], { FHIR_PROFILE: 'medplum' })).toThrow(/must be one of full, epic-like, oracle-like, medplum-like/);
  });
});

describe('startStandaloneFhirServer options', () => {
  test('bad medplum-like options are refused before anything starts, every problem named', async () => {
    const tmp = tempDir();
    try {
      await expect(
        startStandaloneFhirServer({ profile: 'medplum-like', dataDir: tmp.dir, medplum: { quota: { points: 1.5 }, conflictRate: -1, clients: { 'a b': '' } } })
      ).rejects.toThrow(/quota\.points.*conflictRate.*client_id.*secret of client "a b"/);
      await expect(startStandaloneFhirServer({ profile: 'epic-like', dataDir: tmp.dir, medplum: {} })).rejects.toThrow(/medplum-like profile only/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe("medplum's access rule (first wildcard scope only)", () => {
  test.each([
    ['', 'RelatedPerson', true, true],
    ['openid', 'RelatedPerson', true, true],
    ['system/*.rs system/*.cu', 'RelatedPerson', true, false],
    ['system/*.cu system/*.rs', 'RelatedPerson', true, true],
    ['system/*.cruds', 'Encounter', true, true],
    ['system/*.*', 'Encounter', true, true],
    ['system/*.read system/*.write', 'Encounter', true, false],
    ['system/*.rs system/RelatedPerson.cru', 'RelatedPerson', true, false],
    ['system/RelatedPerson.cru system/Patient.rs', 'RelatedPerson', true, true],
    ['system/RelatedPerson.cru system/Patient.rs', 'Patient', true, false],
    ['system/RelatedPerson.cru system/Patient.rs', 'Encounter', false, false],
    ['user/Encounter.c', 'Encounter', true, true],
    [DEFAULT_SCOPE_V2, 'Provenance', true, true],
    [DEFAULT_SCOPE_V2, 'Patient', true, false],
    [DEFAULT_SCOPE_V2, 'Organization', false, false],
    [DEFAULT_SCOPE_V1, 'DocumentReference', true, true],
    ['system/*.rs', 'StructureDefinition', true, false],
  ])('scope "%s" on %s: read %s, write %s', (scope, type, read, write) => {
    const access = accessForScope(scope);
    expect([canRead(access, type), canWrite(access, type)]).toEqual([read, write]);
  });
});

describe('the quota window', () => {
  test('a fixed window from the first operation; past the limit everything is refused until it ends', () => {
    let now = 1_000;
    const quota = new FhirQuota({ points: 120, windowSeconds: 10 }, () => now);
    quota.consume('c', 'write');
    quota.consume('c', 'search');
    expect(quota.state('c')).toEqual({ limit: 120, used: 120, remaining: 0, resetInMs: 10_000 });
    now += 9_999;
    expect(() => quota.consume('c', 'read')).toThrow(/Too Many Requests/);
    expect(() => quota.consume('other', 'write')).not.toThrow();
    now += 1;
    expect(() => quota.consume('c', 'write')).not.toThrow();
    expect(quota.state('c')).toMatchObject({ used: 100, resetInMs: 10_000 });
  });

  test('the refusal carries the limiter state in its diagnostics, as medplum does', () => {
    const quota = new FhirQuota({ points: 50 }, () => 0);
    let diagnostics = '';
    try {
      quota.consume('c', 'write');
    } catch (err) {
      diagnostics = (err as { outcome: { issue: { diagnostics: string }[] } }).outcome.issue[0].diagnostics;
    }
    expect(JSON.parse(diagnostics)).toEqual({ remainingPoints: 0, msBeforeNext: 60_000, consumedPoints: 100, isFirstInDuration: false, limit: 50 });
  });
});

describe('EMBEDDED_FHIR_PROFILE=medplum-like: the /fhir of the service', () => {
  test('is accepted by the config', () => {
    expect(loadConfig({ EMBEDDED_FHIR_PROFILE: 'medplum-like' }).embeddedFhirProfile).toBe('medplum-like');
  });

  test('/fhir runs transactions the medplum way, /fhir/_admin serves the same data', async () => {
    const tmp = tempDir();
    const svc = await startTestService(tmp.dir, { EMBEDDED_FHIR_PROFILE: 'medplum-like', SYNC_ENABLED: 'false', LOG_LEVEL: 'error' });
    try {
      const fhirJson = { 'content-type': 'application/fhir+json' };
      const cs = await svc.api('GET', '/fhir/metadata');
      expect(cs.body.title).toContain('medplum-like');
      const encUrn = urn();
      // An Encounter without a subject reference is fine; without status it is invalid: the entry fails alone.
      const r = await svc.api(
        'POST',
        '/fhir',
        bundle('transaction', [createEntry({ resourceType: 'Encounter', class: { code: 'AMB' } } as never, encUrn), createEntry(provenance(encUrn))]),
        fhirJson
      );
      expect(r.status).toBe(200);
      expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['400', '201']);
      const targetRef = r.body.entry[1].resource.target[0].reference as string;
      expect((await svc.api('GET', `/fhir/_admin/${targetRef}`)).status).toBe(404);
      expect((await svc.api('POST', '/fhir/_admin/Patient', sample('Patient', 'MRN-S'), fhirJson)).status).toBe(201);
    } finally {
      await svc.close();
      tmp.cleanup();
    }
  });
});
