/**
 * Reads records for the workbench: one bare JSON record (its kind given separately), one
 * `{"kind","record"}` object, or NDJSON of such objects. Each is checked against the inbound contract
 * (schemas/inbound); a bad one becomes a rejected result with every problem and its JSON path.
 */
import type { RecordKind } from '../../domain/records.js';
import { parseImportLine, validateRecord } from '../../inbound/validate.js';
import { inputInvalid, OperationOutcomeError, toOutcome } from '../../outcomes.js';
import type { DryRunInput, DryRunResult } from './dry-run.js';

export interface ParsedRecords {
  records: DryRunInput[];
  rejected: DryRunResult[];
}

/**
 * Parses workbench input.
 * @param text - The file's content.
 * @param kind - The kind of a bare record (required for one).
 */
export function parseRecords(text: string, kind?: RecordKind): ParsedRecords {
  const single = parseSingle(text);
  if (single !== undefined && !isImportLine(single)) {
    if (!kind) {
      return reject(1, undefined, 'a bare record needs its kind (--kind, or ?kind= over HTTP); NDJSON lines are {"kind","record"}');
    }
    try {
      return { records: [{ kind, record: validateRecord(kind, single) }], rejected: [] };
    } catch (err) {
      return { records: [], rejected: [rejected(undefined, kind, single, err)] };
    }
  }
  const out: ParsedRecords = { records: [], rejected: [] };
  // One {"kind","record"} object, possibly over several lines (pretty-printed), is one line.
  const lines = single !== undefined ? [JSON.stringify(single)] : text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') {
      return;
    }
    try {
      const parsed = parseImportLine(line, i + 1);
      out.records.push({ kind: parsed.kind, record: parsed.record, line: i + 1 });
    } catch (err) {
      const value = parseSingle(line) as { kind?: unknown; record?: unknown } | undefined;
      out.rejected.push(rejected(i + 1, value?.kind, value?.record, err));
    }
  });
  if (out.records.length === 0 && out.rejected.length === 0) {
    return reject(1, undefined, 'no records: the input is empty');
  }
  return out;
}

function parseSingle(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isImportLine(value: unknown): boolean {
  const v = value as { kind?: unknown; record?: unknown };
  return typeof v.kind === 'string' && typeof v.record === 'object';
}

function rejected(line: number | undefined, kind: unknown, record: unknown, err: unknown): DryRunResult {
  if (!(err instanceof OperationOutcomeError)) {
    throw err;
  }
  const id = (record as { id?: unknown } | undefined)?.id;
  return {
    ...(line !== undefined ? { line } : {}),
    ...(typeof kind === 'string' ? { kind: kind as RecordKind } : {}),
    ...(typeof id === 'string' ? { id } : {}),
    status: 'rejected',
    outcome: toOutcome(err),
  };
}

function reject(line: number, kind: RecordKind | undefined, message: string): ParsedRecords {
  return { records: [], rejected: [rejected(line, kind, undefined, new OperationOutcomeError(inputInvalid([{ path: '', message }])))] };
}
