/**
 * `npm run fault-proxy`: the fault-injection proxy from a terminal (see docs/target-profiles-and-faults.md).
 * Environment:
 *   TARGET               the FHIR base URL to stand in for (required), e.g. http://127.0.0.1:8090/fhir
 *   PORT                 default 8091 (0 = any free port)
 *   SEED                 default: random (logged, so a run can be repeated)
 *   FAULT_RATES          e.g. "throttle=0.05,unavailable=0.05,reset-after-forward=0.02"
 *   RETRY_AFTER_SECONDS  default 1
 *   SLOW_MS              default 1500
 * Prints the counters every 10 s and on exit. Logs no paths or bodies.
 */
import { checkRates, type FaultRates, startFaultProxy } from './fault-proxy.js';

function parseRates(raw: string | undefined): FaultRates {
  const rates: Record<string, number> = {};
  for (const pair of (raw ?? '').split(',').filter((p) => p.trim())) {
    const [kind, value] = pair.split('=').map((s) => s.trim());
    rates[kind] = Number(value);
  }
  return checkRates(rates as FaultRates);
}

function numberFrom(name: string, dflt: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a whole number of at least 0 (got "${raw}")`);
  }
  return n;
}

async function main(): Promise<void> {
  const target = process.env.TARGET;
  if (!target) {
    throw new Error('TARGET (the FHIR base URL to proxy) is required');
  }
  const seed = process.env.SEED ? numberFrom('SEED', 0) : Math.floor(Math.random() * 2 ** 31);
  const proxy = await startFaultProxy({
    target,
    seed,
    rates: parseRates(process.env.FAULT_RATES),
    retryAfterSeconds: numberFrom('RETRY_AFTER_SECONDS', 1),
    slowMs: numberFrom('SLOW_MS', 1500),
    port: numberFrom('PORT', 8091),
  });
  const report = (): void => {
    const { decisions: _d, ...counters } = proxy.stats();
    process.stdout.write(`${JSON.stringify({ message: 'fault proxy counters', ...counters })}\n`);
  };
  process.stdout.write(`${JSON.stringify({ message: 'fault proxy started', url: proxy.url, target, seed })}\n`);
  const timer = setInterval(report, 10_000);
  const stop = (): void => {
    clearInterval(timer);
    report();
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1)
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fault proxy failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
