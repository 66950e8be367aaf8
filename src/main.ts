/**
 * Entry point: `npm start`. Reads the environment once, starts the service, stops cleanly on SIGINT/SIGTERM:
 * no new work is claimed, sends in flight get SYNC_SHUTDOWN_GRACE_MS to finish (then are abandoned
 * safely: their outcome is unknown and the next attempt looks before writing), the HTTP server and the
 * databases close. Everything acknowledged was committed before it was acknowledged, so a stop at any
 * moment loses nothing; a hard deadline makes sure the process ends even if closing hangs.
 */
import { loadConfig } from './config.js';
import { startService } from './service.js';

/** The longest a stop may take before the process exits anyway (within a supervisor's usual 10 s). */
const STOP_DEADLINE_MS = 9_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const service = await startService(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    service.logger.info('stopping', { signal });
    setTimeout(() => {
      process.stderr.write('collateral-fhir: stop took too long, exiting\n');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    service.close().then(
      () => process.exit(0),
      () => process.exit(1)
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`collateral-fhir failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
