/**
 * The import-job slice on SQLite: one row per job (import_jobs) and one per non-blank line's result
 * (import_job_lines, keyed by the job's integer key and the line number: about 40 bytes a line).
 * Progress rows are written by the records slice's group commit (writeJobProgress), in the same
 * transaction as the lines' records.
 */
import { interruptedMessage, type ImportJob, type ImportJobProgress, type ImportJobState, type ImportJobStore, type ImportLineResult } from '../import-jobs.js';
import { type JobRow, type LineRow, toJob, toLine } from '../job-audit-rows.js';
import type { PutRecordResult } from '../types.js';
import type { SqliteDb } from './db.js';

/**
 * Writes one group commit's progress of the jobs it carries; call inside the group's transaction.
 * @param puts - the group's puts that came from job lines, with their results (failed puts are
 *   recorded as rejected with `failure`).
 */
export function writeJobProgress(
  db: SqliteDb,
  progress: ImportJobProgress[],
  puts: { jobId: string; line: number; result?: PutRecordResult; failure?: object }[],
  now: string
): void {
  const seqOf = new Map<string, number>();
  const seq = (jobId: string): number | undefined => {
    if (!seqOf.has(jobId)) {
      const row = db.prepare('SELECT seq FROM import_jobs WHERE id = ?').get(jobId) as { seq: number } | undefined;
      if (row) {
        seqOf.set(jobId, row.seq);
      }
    }
    return seqOf.get(jobId);
  };
  const counts = new Map<string, { accepted: number; unchanged: number; rejected: number }>();
  const count = (jobId: string, status: ImportLineResult['status']): void => {
    const c = counts.get(jobId) ?? { accepted: 0, unchanged: 0, rejected: 0 };
    c[status]++;
    counts.set(jobId, c);
  };
  const insert = db.prepare(
    'INSERT OR REPLACE INTO import_job_lines (job_seq, line, status, kind, record_id, version, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)'
  );
  for (const p of puts) {
    const s = seq(p.jobId);
    if (s === undefined) {
      continue;
    }
    if (p.result) {
      const status = p.result.changed ? 'accepted' : 'unchanged';
      insert.run(s, p.line, status, p.result.record.kind, p.result.record.id, p.result.record.version, null);
      count(p.jobId, status);
    } else {
      insert.run(s, p.line, 'rejected', null, null, null, JSON.stringify(p.failure ?? {}));
      count(p.jobId, 'rejected');
    }
  }
  for (const j of progress) {
    const s = seq(j.jobId);
    if (s === undefined) {
      continue;
    }
    for (const r of j.rejected) {
      insert.run(s, r.line, 'rejected', null, null, null, JSON.stringify(r.outcome));
      count(j.jobId, 'rejected');
    }
    const c = counts.get(j.jobId) ?? { accepted: 0, unchanged: 0, rejected: 0 };
    counts.delete(j.jobId);
    db.prepare(
      `UPDATE import_jobs SET lines_read = MAX(lines_read, ?), accepted = accepted + ?, unchanged = unchanged + ?,
         rejected = rejected + ?, updated_at = ? WHERE seq = ?`
    ).run(j.throughLine, c.accepted, c.unchanged, c.rejected, now, s);
  }
  // Puts naming a job without a progress entry still count (the caller sends progress with every chunk).
  for (const [jobId, c] of counts) {
    db.prepare('UPDATE import_jobs SET accepted = accepted + ?, unchanged = unchanged + ?, rejected = rejected + ?, updated_at = ? WHERE id = ?').run(
      c.accepted,
      c.unchanged,
      c.rejected,
      now,
      jobId
    );
  }
}

export class SqliteImportJobs implements ImportJobStore {
  constructor(private readonly db: SqliteDb) {}

  async createJob(job: { id: string; createdBy: string; now: Date }): Promise<ImportJob> {
    const now = job.now.toISOString();
    this.db
      .prepare(`INSERT INTO import_jobs (id, state, created_by, started_at, updated_at) VALUES (?, 'running', ?, ?, ?)`)
      .run(job.id, job.createdBy, now, now);
    return (await this.getJob(job.id)) as ImportJob;
  }

  async getJob(id: string): Promise<ImportJob | undefined> {
    const row = this.db.prepare('SELECT * FROM import_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  async listRecentJobs(limit: number): Promise<ImportJob[]> {
    return (this.db.prepare('SELECT * FROM import_jobs ORDER BY seq DESC LIMIT ?').all(limit) as JobRow[]).map(toJob);
  }

  async finishJob(id: string, state: Exclude<ImportJobState, 'running'>, message: string | undefined, now: Date): Promise<ImportJob | undefined> {
    const at = now.toISOString();
    this.db
      .prepare(`UPDATE import_jobs SET state = ?, message = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state = 'running'`)
      .run(state, message ?? null, at, at, id);
    return this.getJob(id);
  }

  async listJobResults(id: string, afterLine: number, limit: number): Promise<ImportLineResult[]> {
    const rows = this.db
      .prepare(
        `SELECT l.line, l.status, l.kind, l.record_id, l.version, l.outcome FROM import_job_lines l
         WHERE l.job_seq = (SELECT seq FROM import_jobs WHERE id = ?) AND l.line > ? ORDER BY l.line LIMIT ?`
      )
      .all(id, afterLine, limit) as LineRow[];
    return rows.map(toLine);
  }

  async failInterruptedJobs(now: Date): Promise<number> {
    const at = now.toISOString();
    return this.db.tx(() => {
      const running = this.db.prepare(`SELECT seq, lines_read FROM import_jobs WHERE state = 'running'`).all() as { seq: number; lines_read: number }[];
      const update = this.db.prepare(`UPDATE import_jobs SET state = 'failed', message = ?, updated_at = ?, finished_at = ? WHERE seq = ?`);
      for (const r of running) {
        update.run(interruptedMessage(r.lines_read), at, at, r.seq);
      }
      return running.length;
    });
  }
}
