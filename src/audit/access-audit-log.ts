/**
 * Writes the access audit without a commit per request: entries are buffered and flushed together in
 * one transaction every `flushMs` (200 ms by default), at once when `maxBuffer` (1,000) are waiting, and
 * at shutdown. Durability is therefore "within ~200 ms": a power loss or kill -9 can lose the entries of
 * the last fraction of a second, for reads and writes alike (a write's own data is committed before it
 * is answered, by the intake; its audit line follows within the interval). Documented in docs/security.md.
 *
 * Retention: entries older than `retentionDays` are purged an hour apart (and shortly after start), in
 * chunks of 1,000 with the event loop free between chunks, so a large backlog never blocks requests.
 */
import type { AccessAuditEntry, AccessAuditStore } from '../store/port.js';

export interface AccessAuditLogOptions {
  store: AccessAuditStore;
  logger: { error(message: string, meta?: object): unknown; info(message: string, meta?: object): unknown };
  retentionDays: number;
  flushMs?: number;
  maxBuffer?: number;
  purgeEveryMs?: number;
  purgeChunk?: number;
}

export class AccessAuditLog {
  private buffer: AccessAuditEntry[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushTimer: NodeJS.Timeout;
  private readonly purgeTimer: NodeJS.Timeout;
  private readonly firstPurge: NodeJS.Timeout;
  private purging = false;
  private closed = false;
  private readonly maxBuffer: number;

  constructor(private readonly o: AccessAuditLogOptions) {
    this.maxBuffer = o.maxBuffer ?? 1000;
    this.flushTimer = setInterval(() => void this.flush(), o.flushMs ?? 200);
    this.flushTimer.unref();
    this.purgeTimer = setInterval(() => void this.purge(), o.purgeEveryMs ?? 3_600_000);
    this.purgeTimer.unref();
    this.firstPurge = setTimeout(() => void this.purge(), 10_000);
    this.firstPurge.unref();
  }

  /** Queues one entry; it is stored with the next flush. */
  record(entry: AccessAuditEntry): void {
    if (this.closed) {
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.maxBuffer) {
      void this.flush();
    }
  }

  /** Stores every queued entry in one transaction (flushes run one after another). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.buffer.length === 0) {
        return;
      }
      const batch = this.buffer;
      this.buffer = [];
      try {
        await this.o.store.appendAccess(batch);
      } catch (err) {
        // Never a request's failure; but loud, because an audit gap is a compliance problem.
        this.o.logger.error('access audit flush failed', { entries: batch.length, error: err instanceof Error ? err.name : typeof err });
      }
    });
    return this.flushing;
  }

  /**
   * Deletes entries older than the retention, chunk by chunk, yielding to the event loop between chunks.
   * @returns how many were deleted.
   */
  async purge(now = new Date()): Promise<number> {
    if (this.purging) {
      return 0;
    }
    this.purging = true;
    const before = new Date(now.getTime() - this.o.retentionDays * 86_400_000);
    const chunk = this.o.purgeChunk ?? 1000;
    let total = 0;
    try {
      for (;;) {
        const n = await this.o.store.purgeAccessBefore(before, chunk);
        total += n;
        if (n < chunk || this.closed) {
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      if (total > 0) {
        this.o.logger.info('access audit purged', { entries: total, retentionDays: this.o.retentionDays });
      }
    } catch (err) {
      this.o.logger.error('access audit purge failed', { error: err instanceof Error ? err.name : typeof err });
    } finally {
      this.purging = false;
    }
    return total;
  }

  /** Stops the timers and stores what is queued. Call before the store closes. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.purgeTimer);
    clearTimeout(this.firstPurge);
    await this.flush();
    this.closed = true;
  }
}
