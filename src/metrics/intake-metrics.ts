/**
 * What the intake reports: records received by kind and result, and the progress of import jobs.
 * The kind label is one of the four record kinds or `unknown` (an import line too broken to tell).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { isRecordKind } from '../domain/records.js';

export type IntakeResult = 'accepted' | 'unchanged' | 'rejected';

/** An import job's counters as the import-jobs store keeps them (issue #8). */
export interface ImportJobProgress {
  state: string;
  linesRead: number;
  accepted: number;
  unchanged: number;
  rejected: number;
}

export interface IntakeMetrics {
  /** `count` records of a kind were accepted, found unchanged or rejected. */
  observeRecords(kind: string | undefined, result: IntakeResult, count?: number): void;
  /** An import job's committed chunk of line results (counted by kind and result, a few increments per chunk). */
  observeLines(results: readonly { kind?: string; status: IntakeResult }[]): void;
}

/**
 * @param runningJobs - the import jobs running now (read at scrape time); absent until import jobs exist.
 */
export function createIntakeMetrics(registry: Registry, runningJobs?: () => Promise<ImportJobProgress[]>): IntakeMetrics {
  const records = new Counter({
    name: 'collateral_records_received_total',
    help: 'Records received (PUT and import) by kind and result: accepted (new version), unchanged (identical resend) or rejected.',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });
  new Gauge({
    name: 'collateral_import_jobs_running',
    help: 'Import jobs reading their body now.',
    registers: [registry],
    async collect() {
      this.set(runningJobs ? (await runningJobs()).length : 0);
    },
  });
  new Gauge({
    name: 'collateral_import_running_lines',
    help: 'Lines of the running import jobs, by what became of them so far (read = committed lines read).',
    labelNames: ['progress'],
    registers: [registry],
    async collect() {
      const jobs = runningJobs ? await runningJobs() : [];
      const sum = (f: (j: ImportJobProgress) => number): number => jobs.reduce((a, j) => a + f(j), 0);
      this.set({ progress: 'read' }, sum((j) => j.linesRead));
      this.set({ progress: 'accepted' }, sum((j) => j.accepted));
      this.set({ progress: 'unchanged' }, sum((j) => j.unchanged));
      this.set({ progress: 'rejected' }, sum((j) => j.rejected));
    },
  });
  const observeRecords = (kind: string | undefined, result: IntakeResult, count = 1): void => {
    records.inc({ kind: isRecordKind(kind) ? kind : 'unknown', result }, count);
  };
  return {
    observeRecords,
    observeLines(results) {
      const counts = new Map<string, number>();
      for (const r of results) {
        const key = `${isRecordKind(r.kind) ? r.kind : 'unknown'} ${r.status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        const [kind, result] = key.split(' ') as [string, IntakeResult];
        observeRecords(kind, result, n);
      }
    },
  };
}
