/**
 * Preloaded into the measured service by the import benchmark (`node --import loop-monitor.js main.js`):
 * the event-loop delay (perf_hooks.monitorEventLoopDelay) written to LOOP_MONITOR_FILE every 500 ms.
 * SIGUSR2 starts a new measurement (the benchmark sends it when the import starts, so start-up work,
 * such as loading the FHIR definitions, is not counted).
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.LOOP_MONITOR_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  const write = (): void =>
    writeFileSync(file, JSON.stringify({ maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), meanMs: ms(histogram.mean), samples: histogram.count }));
  setInterval(write, 500).unref();
  process.on('SIGUSR2', () => {
    histogram.reset();
    write();
  });
}
