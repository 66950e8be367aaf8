/**
 * The import-job slice on PostgreSQL. Progress rows are written by the records slice's group commit
 * (writeJobProgress), in the same transaction as the lines' records. A job belongs to the instance that
 * reads its body (owner): only that instance's restart interrupts it, so an instance starting next to
 * others never fails their running jobs. A job whose instance died and never came back stays `running`
 * until an operator looks (its committed lines are committed either way).
 */
import { interruptedMessage, type ImportJob, type ImportJobProgress, type ImportJobState, type ImportJobStore, type ImportLineResult } from '../import-jobs.js';
import { type JobRow, type LineRow, toJob, toLine } from '../job-audit-rows.js';
import type { PutRecordResult } from '../types.js';
import type { PgDb, Queryable } from './db.js';

/** Writes one group commit's progress of the jobs it carries; call inside the group's transaction. */
export async function writeJobProgress(
  c: Queryable,
  progress: ImportJobProgress[],
  puts: { jobId: string; line: number; result?: PutRecordResult; failure?: object }[],
  now: string
): Promise<void> {
  const seqOf = new Map<string, number | undefined>();
  const seq = async (jobId: string): Promise<number | undefined> => {
    if (!seqOf.has(jobId)) {
      seqOf.set(jobId, (await c.query<{ seq: number }>('SELECT seq FROM import_jobs WHERE id = $1', [jobId])).rows[0]?.seq);
    }
    return seqOf.get(jobId);
  };
  const counts = new Map<string, { accepted: number; unchanged: number; rejected: number }>();
  const count = (jobId: string, status: ImportLineResult['status']): void => {
    const n = counts.get(jobId) ?? { accepted: 0, unchanged: 0, rejected: 0 };
    n[status]++;
    counts.set(jobId, n);
  };
  const lines: [number, number, string, string | null, string | null, number | null, string | null][] = [];
  for (const p of puts) {
    const s = await seq(p.jobId);
    if (s === undefined) {
      continue;
    }
    if (p.result) {
      const status = p.result.changed ? 'accepted' : 'unchanged';
      lines.push([s, p.line, status, p.result.record.kind, p.result.record.id, p.result.record.version, null]);
      count(p.jobId, status);
    } else {
      lines.push([s, p.line, 'rejected', null, null, null, JSON.stringify(p.failure ?? {})]);
      count(p.jobId, 'rejected');
    }
  }
  for (const j of progress) {
    const s = await seq(j.jobId);
    if (s === undefined) {
      continue;
    }
    for (const r of j.rejected) {
      lines.push([s, r.line, 'rejected', null, null, null, JSON.stringify(r.outcome)]);
      count(j.jobId, 'rejected');
    }
  }
  if (lines.length > 0) {
    // One statement for the chunk's lines; a line written again (a retried group) is replaced.
    const col = <T>(i: number): T[] => lines.map((l) => l[i] as T);
    await c.query(
      `INSERT INTO import_job_lines (job_seq, line, status, kind, record_id, version, outcome)
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[])
       ON CONFLICT (job_seq, line) DO UPDATE SET status = excluded.status, kind = excluded.kind, record_id = excluded.record_id,
         version = excluded.version, outcome = excluded.outcome`,
      [col(0), col(1), col(2), col(3), col(4), col(5), col(6)]
    );
  }
  for (const j of progress) {
    const n = counts.get(j.jobId) ?? { accepted: 0, unchanged: 0, rejected: 0 };
    counts.delete(j.jobId);
    await c.query(
      `UPDATE import_jobs SET lines_read = GREATEST(lines_read, $1), accepted = accepted + $2, unchanged = unchanged + $3,
         rejected = rejected + $4, updated_at = $5 WHERE id = $6`,
      [j.throughLine, n.accepted, n.unchanged, n.rejected, now, j.jobId]
    );
  }
  for (const [jobId, n] of counts) {
    await c.query('UPDATE import_jobs SET accepted = accepted + $1, unchanged = unchanged + $2, rejected = rejected + $3, updated_at = $4 WHERE id = $5', [
      n.accepted,
      n.unchanged,
      n.rejected,
      now,
      jobId,
    ]);
  }
}

export class PgImportJobs implements ImportJobStore {
  /**
   * @param owner - this instance's name on the jobs it runs. It must be the same across a restart of
   *   the same instance (see PostgresStoreOptions.instanceId) for the restart to fail its jobs.
   */
  constructor(
    private readonly db: PgDb,
    private readonly owner: string
  ) {}

  async createJob(job: { id: string; createdBy: string; now: Date }): Promise<ImportJob> {
    const now = job.now.toISOString();
    await this.db.query(`INSERT INTO import_jobs (id, state, created_by, owner, started_at, updated_at) VALUES ($1, 'running', $2, $3, $4, $4)`, [
      job.id,
      job.createdBy,
      this.owner,
      now,
    ]);
    return (await this.getJob(job.id)) as ImportJob;
  }

  async listRecentJobs(limit: number): Promise<ImportJob[]> {
    return (await this.db.query<JobRow>('SELECT * FROM import_jobs ORDER BY seq DESC LIMIT $1', [limit])).rows.map(toJob);
  }

  async getJob(id: string): Promise<ImportJob | undefined> {
    const r = await this.db.query<JobRow>('SELECT * FROM import_jobs WHERE id = $1', [id]);
    return r.rows[0] ? toJob(r.rows[0]) : undefined;
  }

  async finishJob(id: string, state: Exclude<ImportJobState, 'running'>, message: string | undefined, now: Date): Promise<ImportJob | undefined> {
    const at = now.toISOString();
    await this.db.query(`UPDATE import_jobs SET state = $1, message = $2, updated_at = $3, finished_at = $3 WHERE id = $4 AND state = 'running'`, [
      state,
      message ?? null,
      at,
      id,
    ]);
    return this.getJob(id);
  }

  async listJobResults(id: string, afterLine: number, limit: number): Promise<ImportLineResult[]> {
    const r = await this.db.query<LineRow>(
      `SELECT l.line, l.status, l.kind, l.record_id, l.version, l.outcome FROM import_job_lines l
       WHERE l.job_seq = (SELECT seq FROM import_jobs WHERE id = $1) AND l.line > $2 ORDER BY l.line LIMIT $3`,
      [id, afterLine, limit]
    );
    return r.rows.map(toLine);
  }

  async failInterruptedJobs(now: Date): Promise<number> {
    const at = now.toISOString();
    return this.db.tx(async (c) => {
      const running = await c.query<{ seq: number; lines_read: number }>(
        `SELECT seq, lines_read FROM import_jobs WHERE state = 'running' AND owner = $1 FOR UPDATE`,
        [this.owner]
      );
      for (const r of running.rows) {
        await c.query(`UPDATE import_jobs SET state = 'failed', message = $1, updated_at = $2, finished_at = $2 WHERE seq = $3`, [
          interruptedMessage(r.lines_read),
          at,
          r.seq,
        ]);
      }
      return running.rows.length;
    });
  }
}
