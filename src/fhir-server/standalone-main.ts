/**
 * `npm run fhir-target`: the embedded FHIR server alone, with a target profile, for syncing to it with
 * FHIR_BASE_URL (see docs/target-profiles-and-faults.md). Flags and environment: standalone-args.ts,
 * e.g. `npm run fhir-target -- --profile medplum-like --quota 5000 --client sync:secret`.
 */
import { resolve } from 'node:path';
import { createLogger } from '../logger.js';
import { parseTargetSettings } from './standalone-args.js';
import { startStandaloneFhirServer } from './standalone.js';

async function main(): Promise<void> {
  const settings = parseTargetSettings(process.argv.slice(2), process.env);
  const logger = createLogger(settings.logLevel);
  const server = await startStandaloneFhirServer({
    profile: settings.profile,
    ...(settings.medplum ? { medplum: settings.medplum } : {}),
    dataDir: resolve(settings.dataDir),
    host: settings.host,
    port: settings.port,
    token: settings.token,
    logger,
  });
  // Tokens and client secrets are never logged, only whether there are any.
  logger.info('FHIR target started', {
    url: server.url,
    adminUrl: server.adminUrl,
    profile: server.profile.name,
    token: Boolean(settings.token),
    ...(settings.medplum
      ? {
          atomicTransactions: settings.medplum.atomicTransactions === true,
          quota: settings.medplum.quota?.points,
          conflictRate: settings.medplum.conflictRate,
          oauthClients: Object.keys(settings.medplum.clients ?? {}),
          tokenUrl: server.tokenUrl,
        }
      : {}),
  });
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1)
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`FHIR target failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
