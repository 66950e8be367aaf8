/**
 * Gauges of the delivery state, read from the store's status slice when Prometheus scrapes: records by
 * state and target, queued entries, the oldest pending age, dead letters and held records by reason.
 * One status read serves every gauge of a scrape (it is shared for a second), so a scrape costs one
 * `targetStatus()` whatever the number of gauges; that read comes from the status counters the store's
 * triggers keep (a few rows per target and state) and one index lookup per target: no scan.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StatusQueries, TargetStatus } from '../store/port.js';

/** Shares one read among callers within `ttlMs`. */
export function sharedRead<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > ttlMs) {
      const value = read();
      last = { at: now, value };
      value.catch(() => {
        last = undefined;
      });
    }
    return last.value;
  };
}

export function registerStatusGauges(registry: Registry, status: Pick<StatusQueries, 'targetStatus'>): void {
  const read = sharedRead(() => status.targetStatus(new Date()));
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, t: TargetStatus, now: number) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const targets = await read();
        // Label sets that are gone (a reason no record is held for any more) must not linger.
        this.reset();
        const now = Date.now();
        for (const t of targets) {
          fill(this, t, now);
        }
      },
    });
  };
  gauge('collateral_records', 'Records by sync state on each target (local = kept local by policy).', ['target', 'state'], (g, t) => {
    for (const [state, n] of Object.entries(t.states)) {
      g.set({ target: t.target, state }, n ?? 0);
    }
  });
  gauge('collateral_queue_depth', 'Outbox entries waiting to be sent (not parked) per target.', ['target'], (g, t) => {
    if (t.target !== 'local') g.set({ target: t.target }, t.queued);
  });
  gauge('collateral_oldest_pending_age_seconds', 'Age of the oldest outbox entry still waiting per target (0 when none).', ['target'], (g, t, now) => {
    if (t.target !== 'local') g.set({ target: t.target }, t.oldestPendingAt ? Math.max(0, (now - Date.parse(t.oldestPendingAt)) / 1000) : 0);
  });
  gauge('collateral_dead_letters', 'Records parked as dead letters per target, until replayed.', ['target'], (g, t) => {
    if (t.target !== 'local') g.set({ target: t.target }, t.deadLetters);
  });
  gauge('collateral_held_records', 'Held records per target by reason code (patient-not-found, no-consent, ...).', ['target', 'reason'], (g, t) => {
    for (const [reason, n] of Object.entries(t.heldBy)) {
      g.set({ target: t.target, reason }, n);
    }
  });
}
