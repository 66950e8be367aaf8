/**
 * Row <-> domain conversions of the import-job and access-audit slices, shared by the SQLite and
 * PostgreSQL stores: both tables have the same columns in both, and the PostgreSQL store reads its rows
 * in the same shapes (postgres/db.ts: BIGINT as a number, JSONB as its text, so `outcome` and `event`
 * are parsed here for both). Columns one store selects and the other does not (`seq` of a job, the
 * PostgreSQL `owner`) are simply not read.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { ImportJob, ImportJobState, ImportLineResult } from './import-jobs.js';
import type { AccessAuditEntry } from './port.js';

/** A row of import_jobs. */
export interface JobRow {
  id: string;
  state: string;
  lines_read: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  message: string | null;
  created_by: string;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** A row of import_job_lines (without its job key). */
export interface LineRow {
  line: number;
  status: string;
  kind: string | null;
  record_id: string | null;
  version: number | null;
  /** The rejected line's OperationOutcome, as JSON text. */
  outcome: string | null;
}

/** An import job as the port returns it. */
export function toJob(r: JobRow): ImportJob {
  return {
    id: r.id,
    state: r.state as ImportJobState,
    linesRead: r.lines_read,
    accepted: r.accepted,
    unchanged: r.unchanged,
    rejected: r.rejected,
    ...(r.message ? { message: r.message } : {}),
    createdBy: r.created_by,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
  };
}

/** One line's result as the port returns it. */
export function toLine(r: LineRow): ImportLineResult {
  return {
    line: r.line,
    ...(r.kind ? { kind: r.kind as ImportLineResult['kind'] } : {}),
    ...(r.record_id ? { id: r.record_id } : {}),
    status: r.status as ImportLineResult['status'],
    ...(r.version !== null ? { version: r.version } : {}),
    ...(r.outcome ? { outcome: JSON.parse(r.outcome) } : {}),
  };
}

/** A row of access_audit. */
export interface AccessAuditRow {
  seq: number;
  id: string;
  recorded_ms: number;
  who: string;
  action: string;
  route: string;
  status: number;
  /** The AuditEvent, as JSON text. */
  event: string;
}

/** Beyond any instant we record (year 9999): the open end of an access-audit time range. */
export const END_OF_TIME = 253_402_300_799_999;

/** An access-audit entry as the port returns it. */
export function toAccessEntry(r: AccessAuditRow): AccessAuditEntry {
  const event = JSON.parse(r.event) as AuditEvent;
  // The clients are the event's patient entities (what the client rows index), so no query per row.
  const clientMrns = (event.entity ?? []).filter((e) => e.role?.code === '1' && e.what?.identifier?.value).map((e) => e.what!.identifier!.value!);
  return { id: r.id, recorded: new Date(r.recorded_ms).toISOString(), who: r.who, action: r.action, route: r.route, status: r.status, clientMrns, event };
}

/** An access-audit page's cursor: `<recorded_ms>.<seq>` in base64url, opaque to callers, checked when read back. */
export function encodeAccessCursor(ms: number, seq: number): string {
  return Buffer.from(`${ms}.${seq}`, 'utf8').toString('base64url');
}

/** The (ms, seq) of an access-audit cursor, or undefined when it is not one of ours. */
export function decodeAccessCursor(cursor: string): [number, number] | undefined {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
