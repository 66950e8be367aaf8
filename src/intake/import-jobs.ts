/**
 * Import jobs: an NDJSON body read and stored in the background after the request was answered 202
 * (POST /api/v1/import with `Prefer: respond-async`). The job's state lives in the store (importJobs
 * slice), written with each chunk's records, so a restart finds exactly how far a job had committed.
 * A job ends completed, failed (body broke off, store failure, shutdown) or cancelled (DELETE); in
 * every case the lines its status counts are committed and nothing after them is.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { interruptedMessage } from '../store/import-jobs.js';
import type { ImportJob, ImportJobState, Store } from '../store/port.js';
import type { Intake } from './accept.js';
import { type ImportSummary, runImport } from './import-run.js';

/** The body of a job: its bytes, and a way to stop reading it (destroying the request). */
export interface JobBody extends AsyncIterable<Buffer | string> {
  destroy(): void;
}

interface Running {
  controller: AbortController;
  body: JobBody;
  /** Why it was stopped: a DELETE or a shutdown. */
  stop?: 'cancel' | 'shutdown';
  done: Promise<ImportJob | undefined>;
}

export class ImportJobRunner {
  private readonly running = new Map<string, Running>();

  /** @param chunkLines - lines per commit (a chunk and its progress are one group commit). */
  constructor(
    private readonly intake: Intake,
    private readonly store: Pick<Store, 'importJobs'>,
    private readonly chunkLines: number,
    private readonly logger?: Logger
  ) {}

  /**
   * Creates the job (durably, before the caller answers 202) and reads its body in the background.
   * @param maxLineBytes - the longest line kept (BODY_LIMIT_BYTES); longer ones are rejected by number.
   */
  async start(body: JobBody, createdBy: string, maxLineBytes: number): Promise<ImportJob> {
    const id = randomUUID();
    const job = await this.store.importJobs.createJob({ id, createdBy, now: new Date() });
    const entry = { controller: new AbortController(), body } as Running;
    entry.done = this.run(id, entry, maxLineBytes).finally(() => this.running.delete(id));
    this.running.set(id, entry);
    this.logger?.info('import job started', { jobId: id });
    return job;
  }

  /** Resolves when the job has ended (at once when it is not running here). */
  async ended(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  /** The jobs whose body is being read in this process now. */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** True while the job's body is being read in this process. */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /**
   * Stops a running job: lines not yet committed are dropped, the job ends `cancelled` saying how far
   * it had committed. Resolves with the job once ended; undefined when it is not running here.
   */
  async cancel(id: string): Promise<ImportJob | undefined> {
    return this.stop(id, 'cancel');
  }

  /** Shutdown: stops every running job (each ends failed, "interrupted by a shutdown after line N"). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id, 'shutdown')));
  }

  private async stop(id: string, why: 'cancel' | 'shutdown'): Promise<ImportJob | undefined> {
    const entry = this.running.get(id);
    if (!entry) {
      return undefined;
    }
    entry.stop ??= why;
    entry.controller.abort();
    // Reading may be waiting for the client's next bytes: end it now (the client sees the connection close).
    entry.body.destroy();
    return entry.done;
  }

  private async run(id: string, entry: Running, maxLineBytes: number): Promise<ImportJob | undefined> {
    let state: Exclude<ImportJobState, 'running'>;
    let message: string | undefined;
    try {
      const summary = await runImport(entry.body, this.intake, { jobId: id, maxLineBytes, chunkLines: this.chunkLines, signal: entry.controller.signal, onCommitted: this.intake.deps.onJobLines });
      [state, message] = ending(summary, entry.stop);
    } catch {
      // A chunk's transaction failed (disk full, I/O error): what its status counts is committed.
      const job = await this.store.importJobs.getJob(id).catch(() => undefined);
      state = 'failed';
      message = `the store could not commit the lines after line ${job?.linesRead ?? 0}; ${committedPart(job?.linesRead ?? 0)}`;
    }
    const job = await this.store.importJobs.finishJob(id, state, message, new Date()).catch(() => undefined);
    this.logger?.info('import job ended', {
      jobId: id,
      state,
      linesRead: job?.linesRead,
      accepted: job?.accepted,
      unchanged: job?.unchanged,
      rejected: job?.rejected,
    });
    return job;
  }
}

function committedPart(n: number): string {
  return n > 0 ? `lines 1..${n} are committed` : 'no line was committed';
}

/** The final state of a job and its message, from how the reading ended. */
function ending(s: ImportSummary, stop: Running['stop']): [Exclude<ImportJobState, 'running'>, string | undefined] {
  const n = s.linesCommitted;
  switch (s.end) {
    case 'completed':
    case 'too-large':
      return ['completed', undefined];
    case 'broken': {
      const cause = s.breakCause === 'undecodable' ? 'could not be decoded (Content-Encoding)' : 'broke off (the connection closed)';
      const dropped = s.droppedBytes > 0 ? ` An unfinished line ${n + 1} of ${s.droppedBytes} bytes was dropped.` : '';
      return ['failed', `The body ${cause} after line ${n}; ${committedPart(n)}.${dropped}`];
    }
    case 'stopped':
      return stop === 'cancel' ? ['cancelled', `cancelled after line ${n}; ${committedPart(n)}`] : ['failed', interruptedMessage(n, 'a shutdown')];
  }
}
