/**
 * Entry point: `npm start`. Reads the environment once, starts the service, stops cleanly on SIGINT/SIGTERM.
 */
import { loadConfig } from './config.js';
import { startService } from './service.js';

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
    // close() stops intake at once and gives sends in flight a few seconds; whatever still hangs after
    // that must not keep the process from exiting within 10 s (a supervisor's usual grace period).
    setTimeout(() => process.exit(1), 9_500).unref();
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
