/**
 * The demo works against any target (issue #9 item 8): when the service syncs to an external FHIR server
 * (FHIR_BASE_URL with a bearer token), the demo seeds the example Patients and Practitioners there, with
 * the same settings and auth as the service, or says exactly what the target lacks; then it imports and
 * reports per record. The targets are standalone embedded FHIR servers (`npm run fhir-target`'s code)
 * with the `full` and `epic-like` profiles, each requiring a token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { demoCommand } from '../../src/cli/demo.js';
import { projectRoot } from '../../src/paths.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { tempDir } from '../helpers/tmp.js';
import { captureIo, FAST_SYNC, startFromEnv, type EnvService } from './service-env.js';

/** The demo waits for the sync (--timeout 90): a loaded CI machine needs the room. */
const LONG = 180_000;

const MRN = 'https://fhir.example-hospital.org/sid/mrn';
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const NOTE = 'https://fhir.example-practice.org/sid/note';
const EHR_TOKEN = 'ehr-static-token-0123456789';
const seedBundle = JSON.parse(readFileSync(join(projectRoot(), 'examples', 'fhir-seed.json'), 'utf8')) as Bundle;
const seedResources = (seedBundle.entry ?? []).map((e) => e.resource as Resource);

interface Setup {
  tmp: ReturnType<typeof tempDir>;
  target: FhirTarget;
  svc: EnvService;
}

async function setUp(profile: 'full' | 'epic-like'): Promise<Setup> {
  const tmp = tempDir(`collateral-demo-${profile}-`);
  const target = await startFhirTarget(profile, join(tmp.dir, 'ehr'), { token: EHR_TOKEN });
  const svc = await startFromEnv({ ...FAST_SYNC, DATA_DIR: join(tmp.dir, 'service'), FHIR_BASE_URL: target.url, FHIR_AUTH_TOKEN: EHR_TOKEN });
  return { tmp, target, svc };
}

async function tearDown(s: Setup): Promise<void> {
  await s.svc.service.close();
  await s.target.close();
  s.tmp.cleanup();
}

describe('against a full external FHIR server', () => {
  let s: Setup;
  let io: ReturnType<typeof captureIo>;
  let code: number;

  beforeAll(async () => {
    s = await setUp('full');
    io = captureIo(s.svc.env);
    code = await demoCommand(['--timeout', '90'], io);
  }, LONG);
  afterAll(() => tearDown(s), LONG);

  test('seeds the Patients and Practitioners on FHIR_BASE_URL with the service’s auth, once', async () => {
    expect(io.stderr()).toBe('');
    expect(io.stdout()).toContain(`Target:  the external FHIR server ${s.target.url} (FHIR_BASE_URL; FHIR_AUTH_TYPE=bearer)`);
    expect(io.stdout().match(/ created +(Patient|Practitioner)\//g)).toHaveLength(5);
    for (const mrn of ['MRN-1001', 'MRN-1002', 'MRN-1003']) {
      expect(await s.target.countByIdentifier('Patient', MRN, mrn)).toBe(1);
    }
    expect(await s.target.countByIdentifier('Practitioner', NPI, '1234567893')).toBe(1);
  }, LONG);

  test('imports, waits, and reports per record; the notes are on the target', async () => {
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(/^ {3}note +n-1001-01 +synced +DocumentReference\/[\w-]+\/_history\/1$/m);
    expect(io.stdout()).toMatch(/^ {3}participant +p-1001-pcp +synced +Practitioner\//m);
    expect(await s.target.countByIdentifier('DocumentReference', NOTE, 'n-1001-01')).toBe(1);
    expect(io.stdout()).toContain(`The FHIR resources are on ${s.target.url}`);
  }, LONG);

  test('without the service’s FHIR_BASE_URL it says the service’s /fhir is only its read-only copy and what to give it', async () => {
    const { FHIR_BASE_URL: _u, FHIR_AUTH_TOKEN: _t, ...withoutTarget } = s.svc.env;
    const other = captureIo(withoutTarget);
    expect(await demoCommand([], other)).toBe(1);
    expect(other.stderr()).toContain(`The service at ${s.svc.service.url} has no embedded FHIR server: its ${s.svc.service.url}/fhir is a read-only copy of what it sent to an external one`);
    expect(other.stderr()).toContain('Run the demo with the same FHIR_BASE_URL and FHIR_AUTH_* settings as the service');
  }, LONG);

  test('with the wrong target token it says what the target answered', async () => {
    const other = captureIo({ ...s.svc.env, FHIR_AUTH_TOKEN: 'not-the-ehr-token-000' });
    expect(await demoCommand([], other)).toBe(1);
    expect(other.stderr()).toMatch(new RegExp(`Cannot read the CapabilityStatement of the external FHIR server ${s.target.url} .*: HTTP 401`));
  }, LONG);
});

describe('against an epic-like FHIR server (Patient and Practitioner read-only)', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp('epic-like');
  }, LONG);
  afterAll(() => tearDown(s), LONG);

  test('says exactly what the target lacks, imports anyway, and reports the records held for it', async () => {
    const io = captureIo(s.svc.env);
    expect(await demoCommand(['--timeout', '90'], io)).toBe(1);
    const out = io.stdout();
    for (const mrn of ['MRN-1001', 'MRN-1002', 'MRN-1003']) {
      expect(out).toContain(`Patient ${mrn}`);
      expect(out).toContain(`the target cannot create Patient (it offers read, search-type): register ${mrn} in the EHR first`);
    }
    expect(out).toContain('register the clinician with NPI 1234567893 in the EHR first');
    expect(out).toContain('44 accepted');
    expect(out).toMatch(/^ {3}note +n-1001-01 +held +patient-not-found: no Patient with MRN MRN-1001 on the target$/m);
    expect(out).toMatch(/^ {3}participant +p-1001-mother +not-writable +not writable on this target: the target cannot create RelatedPerson/m);
    expect(await s.target.countByIdentifier('Patient', MRN, 'MRN-1001')).toBe(0);
  }, LONG);

  test('once the EHR has registered them, the demo finds them and the notes go', async () => {
    await s.target.seed(seedResources); // the admin side: what registration does on a real EHR
    const io = captureIo(s.svc.env);
    expect(await demoCommand(['--timeout', '90'], io)).toBe(0);
    expect(io.stdout().match(/ already there +(Patient|Practitioner)\//g)).toHaveLength(5);
    expect(io.stdout()).toMatch(/^ {3}note +n-1001-01 +synced +DocumentReference\/[\w-]+\/_history\/1 {2}\(.*referenced by identifier only/m);
    expect(await s.target.countByIdentifier('DocumentReference', NOTE, 'n-1001-01')).toBe(1);
  }, LONG);
});
