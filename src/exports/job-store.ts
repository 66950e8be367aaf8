/**
 * Export jobs on disk: `DATA_DIR/exports/<jobId>/` (mode 0700) holds `status.json` (written atomically:
 * a temporary file, fsync, rename) and the result files (mode 0600). The status file is small and holds
 * no PHI: types, counts, file names, times, the owner's credential name, never resource content.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type JobState = 'accepted' | 'in-progress' | 'completed' | 'failed';
export type JobKind = 'bulk' | 'view';

/** One result file of a job. */
export interface JobOutput {
  /** $export: the resource type; $viewdefinition-export: the view's output name; errors: OperationOutcome. */
  name: string;
  file: string;
  count: number;
  /** Error files (OperationOutcome NDJSON) go to the manifest's error[]. */
  error?: boolean;
}

/** Progress while a job runs (the X-Progress header). */
export interface JobProgress {
  /** What is being read or written now (a resource type, a view name). */
  step: string;
  stepIndex: number;
  steps: number;
  /** Resources read so far. */
  resources: number;
}

/** A job as stored. */
export interface JobRecord {
  id: string;
  kind: JobKind;
  state: JobState;
  /** The credential that kicked it off (Principal.name). */
  owner: string;
  /** True when the output is not de-identified (deidentify=false). */
  identified: boolean;
  /** The kick-off request URL (the manifest's `request`). */
  request: string;
  createdAt: string;
  /** The manifest's transactionTime: when reading started. */
  transactionTime?: string;
  finishedAt?: string;
  /** When the result files are deleted (finishedAt + retention). */
  expiresAt?: string;
  /** The parsed request: what the runner needs (never PHI beyond server ids). */
  params: Record<string, unknown>;
  progress?: JobProgress;
  outputs: JobOutput[];
  /** Why a failed job failed (plain words, no PHI). */
  error?: string;
}

const STATUS = 'status.json';
const ID = /^[A-Za-z0-9-]{1,64}$/;

/** The folder of all jobs. */
export class JobStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** The folder of one job (created on first use). */
  dir(id: string, create = false): string {
    if (!ID.test(id)) {
      throw new Error('invalid job id');
    }
    const dir = join(this.root, id);
    if (create) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    return dir;
  }

  /** Writes a job's status atomically: readers see the old or the new file, never half of one. */
  save(job: JobRecord): void {
    const dir = this.dir(job.id, true);
    const tmp = join(dir, `${STATUS}.tmp`);
    writeFileSync(tmp, JSON.stringify(job), { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, STATUS));
  }

  load(id: string): JobRecord | undefined {
    if (!ID.test(id)) {
      return undefined;
    }
    const file = join(this.root, id, STATUS);
    if (!existsSync(file)) {
      return undefined;
    }
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as JobRecord;
    } catch {
      return undefined;
    }
  }

  /** Every job folder's id (whether or not its status file is readable). */
  ids(): string[] {
    return readdirSync(this.root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && ID.test(e.name))
      .map((e) => e.name);
  }

  /** Deletes a job's folder with its files. */
  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Deletes a job's result files (keeping its status). */
  removeFiles(id: string): void {
    const dir = this.dir(id);
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (name !== STATUS) {
        rmSync(join(dir, name), { force: true });
      }
    }
  }
}
