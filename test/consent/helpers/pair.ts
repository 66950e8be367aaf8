/**
 * Two real service instances with a recording proxy between them, so every byte the sync sends is seen:
 * `ehr` hosts the embedded FHIR server (its own sync off) and stands for the hospital's EHR; `practice`
 * syncs to it through the proxy (FHIR_BASE_URL = the proxy), exactly as it would reach an external server.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { MRN_SYSTEM, seedBundle } from '../../helpers/fixtures.js';
import { startTestService, type TestService } from '../../helpers/service.js';
import { tempDir } from '../../helpers/tmp.js';
import { type RecordingProxy, startRecordingProxy } from './recording-proxy.js';

export interface ServicePair {
  practice: TestService;
  ehr: TestService;
  proxy: RecordingProxy;
  /** The practice's sync target name (its FHIR_BASE_URL). */
  target: string;
  close(): Promise<void>;
}

/** A transaction creating Patients with these MRNs on the EHR (idempotent). */
export function patientsBundle(mrns: string[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: mrns.map((mrn) => ({
      resource: { resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: mrn }] },
      request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${MRN_SYSTEM}|${mrn}` },
    })),
  };
}

export async function startPair(mrns: string[], practiceEnv: Record<string, string> = {}): Promise<ServicePair> {
  const ehrDir = tempDir('consent-ehr-');
  const practiceDir = tempDir('consent-practice-');
  const ehr = await startTestService(ehrDir.dir, { SYNC_ENABLED: 'false' });
  const fhir = { 'content-type': 'application/fhir+json' };
  const seeded = await ehr.api('POST', '/fhir', seedBundle, fhir);
  const patients = await ehr.api('POST', '/fhir', patientsBundle(mrns), fhir);
  if (seeded.status !== 200 || patients.status !== 200) {
    throw new Error(`seeding the EHR failed: ${seeded.status} ${patients.status}`);
  }
  const proxy = await startRecordingProxy(ehr.url);
  const target = `${proxy.url}/fhir`;
  const practice = await startTestService(practiceDir.dir, { FHIR_BASE_URL: target, FHIR_AUTH_TOKEN: ehr.apiTokens[0], ...practiceEnv });
  return {
    practice,
    ehr,
    proxy,
    target,
    async close() {
      await practice.close();
      await proxy.close();
      await ehr.close();
      practiceDir.cleanup();
      ehrDir.cleanup();
    },
  };
}
