/**
 * Runs export jobs in the background, one at a time (the machine is small, and a second export would
 * only slow the first), persisting each job's state so that status polls, downloads and restarts see it.
 *
 * Restarts: a job that was accepted or running when the service stopped (or crashed) is marked failed
 * with the reason at the next start, and its partial files are deleted; the client kicks off again.
 * (Resuming would need a durable read position per type and per output file; a restart is rare and an
 * export over this service's data takes seconds to minutes.)
 *
 * Expiry: a finished job's files are kept for the retention period (at least 24 hours), then a periodic
 * sweep deletes the job; until the sweep runs, an expired job already answers 404.
 */
import { randomUUID } from 'node:crypto';
import { OperationOutcomeError } from '../outcomes.js';
import type { JobKind, JobOutput, JobProgress, JobRecord, JobStore } from './job-store.js';

/** What a runner gets besides its job. */
export interface JobContext {
  /** Aborted when the job is cancelled or the service stops: stop promptly. */
  signal: AbortSignal;
  /** The job's folder: write result files here (mode 0600). */
  dir: string;
  progress(p: JobProgress): void;
}

/**
 * Wraps a source so that waiting for its next item ends at once when the job is aborted (a cancel must
 * not wait for a slow read).
 */
export async function* abortable<T>(items: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  const iterator = items[Symbol.asyncIterator]();
  // A listener per read, removed when the read settles: racing every read against one long-lived abort
  // promise would keep every result reachable from it (a leak of every resource exported).
  const next = (): Promise<IteratorResult<T>> =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new Error('aborted'));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      iterator.next().then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        }
      );
    });
  try {
    for (;;) {
      const r = await next();
      if (r.done) {
        return;
      }
      yield r.value;
    }
  } finally {
    void iterator.return?.();
  }
}

/** Does the work of one kind of job and returns its result files. */
export type JobRunner = (job: JobRecord, ctx: JobContext) => Promise<JobOutput[]>;

/** Where the manager reports (types, ids and counts only). */
export interface JobLogger {
  info(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
  error(message: string, meta?: object): void;
}

export interface JobManagerOptions {
  store: JobStore;
  runners: Partial<Record<JobKind, JobRunner>>;
  /** How long finished jobs' files are kept. */
  retentionMs: number;
  logger: JobLogger;
  /** The clock (tests move it forward to expire jobs). */
  now?: () => Date;
  /** How often expired jobs are deleted; default 10 minutes. */
  sweepIntervalMs?: number;
  /** Jobs accepted but not yet running beyond which kick-offs are refused (429); default 10. */
  maxQueued?: number;
}

/** A new job's request, before it has an id and a state. */
export type NewJob = Pick<JobRecord, 'kind' | 'owner' | 'identified' | 'request' | 'params'>;

const SAVE_EVERY_MS = 1000;
/** How long a stop waits for the running job to notice it. */
const CLOSE_WAIT_MS = 5000;

export class JobManager {
  private readonly now: () => Date;
  private readonly queue: string[] = [];
  private readonly cancelled = new Set<string>();
  private running?: { id: string; abort: AbortController; done: Promise<void> };
  private timer?: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: JobManagerOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Marks jobs interrupted by the last stop as failed, deletes expired ones, starts the sweep. */
  start(): void {
    for (const id of this.o.store.ids()) {
      const job = this.o.store.load(id);
      if (!job) {
        this.o.store.remove(id); // a folder without a readable status: a crash while creating it
        continue;
      }
      if (job.state === 'accepted' || job.state === 'in-progress') {
        this.finishFailed(job, `interrupted: the service restarted while this job was ${job.state}; kick off the export again`);
      }
    }
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.o.sweepIntervalMs ?? 600_000);
    this.timer.unref();
  }

  /** Number of jobs waiting to run. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether another job may be accepted now. */
  canAccept(): boolean {
    return !this.closing && this.queue.length < (this.o.maxQueued ?? 10);
  }

  /** Accepts a job: persisted as `accepted` before this returns, run in the background. @param id - a fresh UUID. */
  submit(request: NewJob, id: string = randomUUID()): JobRecord {
    const job: JobRecord = { ...request, id, state: 'accepted', createdAt: this.now().toISOString(), outputs: [] };
    this.o.store.save(job);
    this.queue.push(job.id);
    this.o.logger.info('export job accepted', { jobId: job.id, kind: job.kind, identified: job.identified });
    setImmediate(() => this.pump());
    return job;
  }

  /** A job's current state; undefined when unknown, cancelled or expired. */
  get(id: string): JobRecord | undefined {
    if (this.cancelled.has(id)) {
      return undefined;
    }
    const job = this.o.store.load(id);
    if (!job || (job.expiresAt && Date.parse(job.expiresAt) <= this.now().getTime())) {
      return undefined;
    }
    return job;
  }

  /** The folder holding a job's files. */
  dir(id: string): string {
    return this.o.store.dir(id);
  }

  /**
   * Cancels a job (stopping it if it runs) and deletes it with its files.
   * @returns false when there is no such job.
   */
  async cancel(id: string): Promise<boolean> {
    if (!this.get(id)) {
      return false;
    }
    this.cancelled.add(id);
    const queuedAt = this.queue.indexOf(id);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
    }
    if (this.running?.id === id) {
      // The runner sees the abort at its next step (its source reads are abortable too); the folder goes now.
      this.running.abort.abort();
    }
    this.o.store.remove(id);
    if (this.running?.id !== id) {
      this.cancelled.delete(id); // a running job's runner still needs to see it (run() clears it)
    }
    this.o.logger.info('export job cancelled', { jobId: id });
    return true;
  }

  /** Deletes jobs whose retention has passed. @returns how many were deleted. */
  sweep(): number {
    let removed = 0;
    const now = this.now().getTime();
    for (const id of this.o.store.ids()) {
      const job = this.o.store.load(id);
      if (job?.expiresAt && Date.parse(job.expiresAt) <= now) {
        this.o.store.remove(id);
        this.cancelled.delete(id);
        removed++;
      }
    }
    if (removed > 0) {
      this.o.logger.info('expired export jobs deleted', { count: removed });
    }
    return removed;
  }

  /** Stops the sweep and the running job; unfinished jobs are marked failed (the service stopped). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) {
      clearInterval(this.timer);
    }
    if (this.running) {
      this.running.abort.abort();
      await Promise.race([this.running.done, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
      const job = this.running && this.o.store.load(this.running.id);
      if (job && job.state === 'in-progress') {
        this.finishFailed(job, 'interrupted: the service stopped while this job ran; kick off the export again');
      }
    }
    for (const id of this.queue.splice(0)) {
      const job = this.o.store.load(id);
      if (job) {
        this.finishFailed(job, 'interrupted: the service stopped before this job ran; kick off the export again');
      }
    }
  }

  private pump(): void {
    if (this.running || this.closing) {
      return;
    }
    const id = this.queue.shift();
    if (!id) {
      return;
    }
    const job = this.o.store.load(id);
    const runner = job && this.o.runners[job.kind];
    if (!job || job.state !== 'accepted' || !runner) {
      if (job && !runner) {
        this.finishFailed(job, `no runner for ${job.kind} jobs in this instance`);
      }
      this.pump();
      return;
    }
    const abort = new AbortController();
    job.state = 'in-progress';
    job.transactionTime = this.now().toISOString();
    this.o.store.save(job);
    const done = this.run(job, runner, abort.signal).finally(() => {
      this.running = undefined;
      setImmediate(() => this.pump());
    });
    this.running = { id, abort, done };
  }

  private async run(job: JobRecord, runner: JobRunner, signal: AbortSignal): Promise<void> {
    let lastSave = 0;
    const ctx: JobContext = {
      signal,
      dir: this.o.store.dir(job.id, true),
      progress: (p) => {
        job.progress = p;
        const t = Date.now();
        if (!signal.aborted && t - lastSave >= SAVE_EVERY_MS) {
          lastSave = t;
          this.o.store.save(job);
        }
      },
    };
    try {
      const outputs = await runner(job, ctx);
      signal.throwIfAborted();
      job.outputs = outputs;
      job.state = 'completed';
      this.stamp(job);
      this.o.store.save(job);
      this.o.logger.info('export job completed', { jobId: job.id, kind: job.kind, files: outputs.length, resources: job.progress?.resources ?? 0 });
    } catch (err) {
      if (this.cancelled.delete(job.id)) {
        return; // cancel() deleted the folder
      }
      const reason = signal.aborted
        ? 'interrupted: the service stopped while this job ran; kick off the export again'
        : err instanceof OperationOutcomeError
          ? `failed: ${err.outcome.issue?.map((i) => i.details?.text).join('; ')}`
          : 'failed: an internal error stopped the export (the service log has the job id)';
      if (signal.aborted) {
        this.o.logger.warn('export job interrupted by the stop', { jobId: job.id, kind: job.kind });
      } else {
        this.o.logger.error('export job failed', { jobId: job.id, kind: job.kind, error: err instanceof Error ? err.name : typeof err });
      }
      this.finishFailed(job, reason);
    }
  }

  private finishFailed(job: JobRecord, reason: string): void {
    job.state = 'failed';
    job.error = reason;
    job.outputs = [];
    this.stamp(job);
    this.o.store.removeFiles(job.id);
    this.o.store.save(job);
  }

  private stamp(job: JobRecord): void {
    const now = this.now();
    job.finishedAt = now.toISOString();
    job.expiresAt = new Date(now.getTime() + this.o.retentionMs).toISOString();
  }
}
