/**
 * The store's import-job slice: the state of streaming NDJSON imports run as jobs (POST /api/v1/import
 * with `Prefer: respond-async`) and their per-line results. A job's progress is written in the same
 * transaction as the records of its lines (RecordStore.putRecordGroup), so what a job's status says
 * is committed always is, also after a crash.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { PutRecordInput, PutRecordResult } from './types.js';

/** running: reading its body; the rest are final. */
export type ImportJobState = 'running' | 'completed' | 'failed' | 'cancelled';

export interface ImportJob {
  id: string;
  state: ImportJobState;
  /**
   * Lines read and committed, blank ones included: every line up to this number has its result
   * committed; nothing after it has.
   */
  linesRead: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  /** Why the job ended as it did (failed, cancelled), in plain words; no record content. */
  message?: string;
  /** The name of the credential that started it. */
  createdBy: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** The result of one non-blank line of an import, as GET .../results streams it. */
export interface ImportLineResult {
  line: number;
  status: 'accepted' | 'unchanged' | 'rejected';
  kind?: RecordKind;
  id?: string;
  version?: number;
  /** Why a line was rejected. */
  outcome?: OperationOutcome;
}

/**
 * A job's progress carried by one group commit: the lines read since the previous commit end at
 * `throughLine`; those rejected before reaching the store are listed with their outcome. The lines
 * whose records are puts of the same group are counted from the puts' own results.
 */
export interface ImportJobProgress {
  jobId: string;
  throughLine: number;
  rejected: { line: number; outcome: OperationOutcome }[];
}

/** One put of a group commit; `job` names the import line it came from, when it came from a job. */
export interface GroupPut {
  input: PutRecordInput;
  job?: { jobId: string; line: number };
}

/** What a group commit did with one put: its result, or the error that rolled back that put alone. */
export type GroupPutOutcome = { ok: true; result: PutRecordResult } | { ok: false; error: unknown };

export interface ImportJobStore {
  /** Creates a running job with nothing read yet. */
  createJob(job: { id: string; createdBy: string; now: Date }): Promise<ImportJob>;
  getJob(id: string): Promise<ImportJob | undefined>;
  /** The latest jobs, newest first, at most `limit` (read in key order: cost grows with `limit` only). */
  listRecentJobs(limit: number): Promise<ImportJob[]>;
  /**
   * Ends a running job (completed, failed or cancelled) with a message; a job already ended keeps its
   * state. Returns the job as stored.
   */
  finishJob(id: string, state: Exclude<ImportJobState, 'running'>, message: string | undefined, now: Date): Promise<ImportJob | undefined>;
  /** Results of the job's lines after `afterLine`, in line order, at most `limit` (the results route pages through them). */
  listJobResults(id: string, afterLine: number, limit: number): Promise<ImportLineResult[]>;
  /**
   * At start: jobs still `running` belonged to a process that is gone (restart, crash, kill -9). Their
   * body is gone too, so they cannot resume: they become `failed`, saying how far they had committed.
   * Returns how many.
   */
  failInterruptedJobs(now: Date): Promise<number>;
}

/**
 * The message of a job that a restart (or a shutdown) interrupted: the body is gone, so it cannot
 * resume; it says how far the job had committed.
 */
export function interruptedMessage(linesRead: number, cause = 'a restart'): string {
  return linesRead > 0
    ? `interrupted by ${cause} after line ${linesRead}; lines 1..${linesRead} are committed`
    : `interrupted by ${cause} before any line was committed`;
}
