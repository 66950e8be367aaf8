/**
 * Accepting records: decide the client each belongs to and whether policy keeps it local, then store it
 * with its outbox entries through the group commit (group-commit.ts), and tell the sync what changed,
 * once per commit. Single PUTs, synchronous imports and import jobs all come through here, so
 * consent and psychotherapy-note policy and client keys are applied identically.
 */
import type { AnyRecord, NoteRecord, RecordKind } from '../domain/records.js';
import type { GroupPut, GroupPutOutcome, ImportJobProgress, ImportLineResult, PutRecordInput, PutRecordResult, Store } from '../store/port.js';
import type { Logger } from '../logger.js';
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions, GroupCommitter } from './group-commit.js';
import { ImportJobRunner } from './import-jobs.js';
import { localOnlyReason } from './policy.js';

/** Lines per commit of an import (a chunk is one submission to the group commit). */
export const DEFAULT_IMPORT_CHUNK_LINES = 100;

export interface IntakeDeps {
  store: Pick<Store, 'records' | 'importJobs'>;
  /** Names of the sync targets every disclosable record is queued for. */
  targets: string[];
  /**
   * Called once per commit with the results of the records that changed (the sync wakes the held
   * records waiting for them: src/sync/wait-keys.ts).
   */
  onAccepted?: (changed: PutRecordResult[]) => void;
  /** Group commit settings; DEFAULT_GROUP_COMMIT where unset. */
  groupCommit?: Partial<GroupCommitOptions>;
  /** Lines per commit of an import; DEFAULT_IMPORT_CHUNK_LINES where unset. */
  importChunkLines?: number;
  /** Import jobs log their start and end (ids and counts only). */
  logger?: Logger;
  /** An import job committed these lines (each chunk once): the metrics count them by kind and result. */
  onJobLines?: (results: readonly ImportLineResult[]) => void;
}

export interface IncomingRecord {
  kind: RecordKind;
  record: AnyRecord;
}

/** The intake of one service: its group committer and the way records become store puts. */
export class Intake {
  readonly committer: GroupCommitter;
  readonly jobs: ImportJobRunner;
  readonly chunkLines: number;

  constructor(readonly deps: IntakeDeps) {
    this.committer = new GroupCommitter(deps.store, { ...DEFAULT_GROUP_COMMIT, ...deps.groupCommit }, (puts, outcomes) => this.committed(puts, outcomes));
    this.chunkLines = deps.importChunkLines ?? DEFAULT_IMPORT_CHUNK_LINES;
    this.jobs = new ImportJobRunner(this, deps.store, this.chunkLines, deps.logger);
  }

  /** Shutdown: running import jobs stop (saying how far they committed), queued puts are committed. */
  async close(): Promise<void> {
    await this.jobs.stopAll();
    await this.committer.drain();
  }

  /** The given intake, or a new one over plain dependencies (tests build the app from those). */
  static of(deps: IntakeDeps | Intake): Intake {
    return deps instanceof Intake ? deps : new Intake(deps);
  }

  /**
   * Stores records (one group commit) and returns one result per record, in order.
   * @throws the error of the first record that could not be stored (the others are stored).
   */
  async accept(items: IncomingRecord[]): Promise<PutRecordResult[]> {
    const outcomes = await this.submit(items.map((item) => ({ item })));
    return outcomes.map((o) => {
      if (!o.ok) {
        throw o.error;
      }
      return o.result;
    });
  }

  /**
   * Stores records of import lines; each outcome says whether its record was stored. With `job`, the
   * job's progress (and the results of lines naming it) commits in the same transaction.
   */
  async submit(items: { item: IncomingRecord; job?: GroupPut['job'] }[], job?: ImportJobProgress): Promise<GroupPutOutcome[]> {
    const puts: GroupPut[] = [];
    for (const { item, job: line } of items) {
      puts.push({ input: await this.toPut(item), ...(line ? { job: line } : {}) });
    }
    return this.committer.submit(puts, job);
  }

  private async toPut(item: IncomingRecord): Promise<PutRecordInput> {
    const clientMrn = await this.clientOf(item);
    return {
      kind: item.kind,
      record: item.record,
      clientMrn,
      // A note whose session is not known yet waits under the session's key (see SqliteRecords).
      clientKey: clientMrn ?? `session:${(item.record as NoteRecord).sessionId}`,
      targets: this.deps.targets,
      blocked: localOnlyReason(item.kind, item.record),
    };
  }

  private async clientOf(item: IncomingRecord): Promise<string | null> {
    if (item.kind !== 'note') {
      return (item.record as { client: { mrn: string } }).client.mrn;
    }
    const session = await this.deps.store.records.getRecord('session', (item.record as NoteRecord).sessionId);
    return session?.clientMrn ?? null;
  }

  /** After each commit: tell the sync which records changed (one call per commit). */
  private committed(_puts: GroupPut[], outcomes: GroupPutOutcome[]): void {
    const changed: PutRecordResult[] = [];
    for (const o of outcomes) {
      if (o.ok && o.result.changed) {
        changed.push(o.result);
      }
    }
    if (changed.length > 0) {
      // The records are committed: a failure to tell the sync must not turn their answers into errors
      // (the held records' slow recheck, SYNC_HELD_RECHECK_MS, still finds them).
      try {
        this.deps.onAccepted?.(changed);
      } catch (err) {
        this.deps.logger?.error('sync wake-up after a commit failed', { error: err instanceof Error ? err.name : typeof err });
      }
    }
  }
}
