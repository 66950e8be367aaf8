/**
 * `npm run fhir-target`: the embedded FHIR server alone, with a target profile, for syncing to it with
 * FHIR_BASE_URL (see docs/target-profiles-and-faults.md). Environment:
 *   FHIR_PROFILE  full | epic-like | oracle-like (default full)
 *   PORT          default 8090 (0 = any free port)
 *   HOST          default 127.0.0.1
 *   DATA_DIR      default ./data/fhir-target (fhir.sqlite inside; kept between runs)
 *   FHIR_TOKEN    optional static bearer token required on every request
 *   LOG_LEVEL     default info
 */
import { resolve } from 'node:path';
import { createLogger } from '../logger.js';
import { startStandaloneFhirServer } from './standalone.js';
import { getTargetProfile } from './target-profiles.js';

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger(env.LOG_LEVEL || 'info');
  const port = Number(env.PORT ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a whole number from 0 to 65535 (got "${env.PORT}")`);
  }
  const server = await startStandaloneFhirServer({
    profile: getTargetProfile(env.FHIR_PROFILE || 'full'),
    dataDir: resolve(env.DATA_DIR || './data/fhir-target'),
    host: env.HOST || '127.0.0.1',
    port,
    token: env.FHIR_TOKEN || undefined,
    logger,
  });
  // The token itself is never logged, only whether one is required.
  logger.info('FHIR target started', {
    url: server.url,
    adminUrl: server.adminUrl,
    profile: server.profile.name,
    token: Boolean(env.FHIR_TOKEN),
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
