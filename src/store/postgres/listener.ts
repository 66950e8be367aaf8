/**
 * Cross-instance wake-ups: one dedicated connection LISTENs on the store's channel; every transaction
 * that may make work due sends a NOTIFY naming the target (delivered at its commit, to every instance,
 * this one included). Subscribers (the sync worker) are called for their target. The connection is
 * re-opened after a loss (database restart) and subscribers are called then too (what was notified
 * while it was down is found that way); the worker's poll interval remains the safety net.
 */
import pg from 'pg';
import type { PgDb } from './db.js';

export class WorkListener {
  private client: pg.Client | undefined;
  private readonly subscribers = new Map<string, Set<() => void>>();
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly db: PgDb) {}

  /** Calls `fn` when work may be due on `target`; returns the unsubscribe. Starts listening on first use. */
  subscribe(target: string, fn: () => void): () => void {
    let set = this.subscribers.get(target);
    if (!set) {
      set = new Set();
      this.subscribers.set(target, set);
    }
    set.add(fn);
    if (!this.client && !this.retry) {
      void this.connect();
    }
    return () => {
      set.delete(fn);
    };
  }

  /** Resolves once the LISTEN is in place (tests wait for it; the service need not). */
  async ready(): Promise<void> {
    if (!this.client) {
      await this.connect();
    }
  }

  private async connect(): Promise<void> {
    if (this.closed || this.client) {
      return;
    }
    const client = new pg.Client({ connectionString: this.db.options.connectionString });
    this.client = client;
    client.on('notification', (n) => this.dispatch(n.payload));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.db.channel}`);
      this.dispatchAll();
    } catch {
      this.lost(client);
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) {
      return;
    }
    this.client = undefined;
    void client.end().catch(() => {});
    if (!this.closed && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        void this.connect();
      }, 1_000);
      this.retry.unref();
    }
  }

  private dispatch(target: string | undefined): void {
    for (const fn of this.subscribers.get(target ?? '') ?? []) {
      fn();
    }
  }

  private dispatchAll(): void {
    for (const target of this.subscribers.keys()) {
      this.dispatch(target);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
