/**
 * What the backfill benchmark watches while the clock runs, in the service's own process: the event
 * loop's delay (perf_hooks.monitorEventLoopDelay), the peak resident memory, and how long /healthz and
 * /api/v1/sync/status take to answer (the service must stay responsive at any backlog).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Watch {
  /** Event-loop delay: max and p99 in ms over the window. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** Peak RSS in MiB over the window, sampled every 200 ms. */
  peakRssMiB: number;
  /** /healthz and /api/v1/sync/status answer times: max and p99 in ms. */
  healthzMaxMs: number;
  healthzP99Ms: number;
  statusMaxMs: number;
}

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/**
 * Starts watching; the returned function stops and reports.
 * @param url - the service's base URL; token - an API token.
 */
export function watch(url: string, token: string): () => Watch {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let peak = process.memoryUsage().rss;
  const health: number[] = [];
  const status: number[] = [];
  const timeIt = async (path: string, into: number[]): Promise<void> => {
    const t = performance.now();
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    await res?.arrayBuffer();
    into.push(performance.now() - t);
  };
  const rss = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  const probes = setInterval(() => {
    void timeIt('/healthz', health);
    void timeIt('/api/v1/sync/status', status);
  }, 1000);
  return () => {
    loop.disable();
    clearInterval(rss);
    clearInterval(probes);
    const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
    return {
      loopMaxMs: ms(loop.max),
      loopP99Ms: ms(loop.percentile(99)),
      peakRssMiB: Math.round(peak / 2 ** 20),
      healthzMaxMs: Math.round(Math.max(0, ...health)),
      healthzP99Ms: Math.round(percentile(health, 99)),
      statusMaxMs: Math.round(Math.max(0, ...status)),
    };
  };
}
