/**
 * Group commit at intake: the puts of concurrent requests (single PUTs, import chunks, import jobs)
 * that arrive while a commit is in progress or within a short window share one transaction and one
 * durable commit (one fsync with synchronous=FULL) instead of one each. Every submitter is answered
 * only after the commit that holds its puts; a put that fails is rolled back alone (a savepoint, see
 * RecordStore.putRecordGroup), the others of the group commit. Groups are bounded (maxItems) so that a
 * group's transaction stays short and the event loop free; a submission is never split across groups.
 * Design and measurements: docs/intake.md.
 */
import type { GroupPut, GroupPutOutcome, ImportJobProgress, Store } from '../store/port.js';

export interface GroupCommitOptions {
  /** Most puts in one transaction (a single submission larger than this still goes in one). */
  maxItems: number;
  /**
   * How long the first submission of a group waits for others, in ms. 0: until the event loop has
   * handled the I/O that is already there (setImmediate), which is where concurrent requests come from.
   */
  windowMs: number;
  /**
   * Groups committing at once. With more than 1, a group is written while the one before it is still
   * being made durable (its fsync, off the event loop): the store must apply overlapping
   * putRecordGroup calls in call order (the SQLite store writes synchronously, so it does).
   */
  maxInFlight: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxItems: 256, windowMs: 0, maxInFlight: 2 };

interface Submission {
  puts: GroupPut[];
  job?: ImportJobProgress;
  resolve(outcomes: GroupPutOutcome[]): void;
  reject(err: unknown): void;
}

/** Figures for the benchmark and the docs: how many groups, how many puts. */
export interface GroupCommitStats {
  groups: number;
  puts: number;
  largestGroup: number;
}

export class GroupCommitter {
  private queue: Submission[] = [];
  private queuedPuts = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private inFlight = 0;
  readonly stats: GroupCommitStats = { groups: 0, puts: 0, largestGroup: 0 };

  /**
   * @param committed - called once per successful commit with the puts and their outcomes (the intake
   *   wakes the sync for the clients written).
   */
  constructor(
    private readonly store: Pick<Store, 'records'>,
    private readonly options: GroupCommitOptions,
    private readonly committed: (puts: GroupPut[], outcomes: GroupPutOutcome[]) => void
  ) {}

  /**
   * Queues puts (and an import job's progress) for the next group commit.
   * @returns one outcome per put, in order, once the group's transaction is durable.
   * @throws what the store threw when the whole transaction failed (nothing of the group was written).
   */
  submit(puts: GroupPut[], job?: ImportJobProgress): Promise<GroupPutOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ puts, job, resolve, reject });
      this.queuedPuts += puts.length;
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or committing (shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.inFlight >= this.options.maxInFlight || this.timer || this.queue.length === 0) {
      return; // a running commit, or the pending timer, takes care of what is queued
    }
    const run = (): void => {
      this.timer = undefined;
      void this.flush();
    };
    // A full group goes at the next turn of the loop without waiting for the window.
    this.timer = this.options.windowMs > 0 && this.queuedPuts < this.options.maxItems ? setTimeout(run, this.options.windowMs) : setImmediate(run);
  }

  private async flush(): Promise<void> {
    const group: Submission[] = [];
    let size = 0;
    while (this.queue.length > 0 && (group.length === 0 || size + this.queue[0].puts.length <= this.options.maxItems)) {
      const s = this.queue.shift() as Submission;
      group.push(s);
      size += s.puts.length;
    }
    this.queuedPuts -= size;
    this.inFlight++;
    try {
      const puts = group.flatMap((s) => s.puts);
      const jobs = group.flatMap((s) => (s.job ? [s.job] : []));
      resolveNotesOfSessionsInGroup(puts);
      let outcomes: GroupPutOutcome[];
      try {
        // The sync hears of the commit in the same turn of the loop (before the fsync with wal-fdatasync),
        // so records it releases are due before the worker can claim anything newer of their client.
        outcomes = await this.store.records.putRecordGroup(puts, jobs, (written) => this.committed(puts, written));
      } catch (err) {
        group.forEach((s) => s.reject(err));
        return;
      }
      this.stats.groups++;
      this.stats.puts += puts.length;
      this.stats.largestGroup = Math.max(this.stats.largestGroup, puts.length);
      let at = 0;
      for (const s of group) {
        s.resolve(outcomes.slice(at, at + s.puts.length));
        at += s.puts.length;
      }
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}

/**
 * A note's client is its session's. The intake looked the session up in the store when the request
 * came; a session put earlier in the same group was not there yet, so its notes later in the group
 * take their client from it here (a note before its session waits under the session's key, which the
 * session's put moves to the client: see SqliteRecords).
 */
function resolveNotesOfSessionsInGroup(puts: GroupPut[]): void {
  const sessions = new Map<string, string>();
  for (const p of puts) {
    const { input } = p;
    if (input.kind === 'session' && input.clientMrn) {
      sessions.set(input.record.id, input.clientMrn);
    } else if (input.kind === 'note' && input.clientMrn === null) {
      const mrn = sessions.get((input.record as { sessionId: string }).sessionId);
      if (mrn) {
        p.input = { ...input, clientMrn: mrn, clientKey: mrn };
      }
    }
  }
}
