/**
 * Reads an NDJSON import body as a stream, line by line, and stores it in chunks through the intake's
 * group commit (the same path as single PUTs). Memory stays constant: at most one chunk is being
 * committed while the next is read and validated, and the body is not read further until then (TCP
 * backpressure). Used by both forms of POST /api/v1/import: the synchronous one collects the per-line
 * results for its answer, a job writes them to the store with its progress (same transaction).
 */
import { parseImportLine } from '../inbound/validate.js';
import { inputInvalid, toOutcome } from '../outcomes.js';
import type { ImportLineResult, ImportJobProgress } from '../store/port.js';
import type { Intake, IncomingRecord } from './accept.js';
import { type NdjsonLine, NdjsonLineSplitter } from './ndjson-lines.js';

export interface ImportRunOptions {
  /** The longest line kept: BODY_LIMIT_BYTES, the single-record limit. */
  maxLineBytes: number;
  /** Lines per commit. */
  chunkLines: number;
  /** A job: its progress and per-line results are stored with each chunk. */
  jobId?: string;
  /** The synchronous form's limit on the body (IMPORT_LIMIT_BYTES); a job has none. */
  maxBodyBytes?: number;
  /** Keep the per-line results in memory (the synchronous form's answer). */
  collectResults?: boolean;
  /** Stop reading (cancel, shutdown): lines not yet committed are dropped. */
  signal?: AbortSignal;
  /** Told each chunk's line results once committed (the metrics count a job's records by kind and result). */
  onCommitted?: (results: readonly ImportLineResult[]) => void;
}

/**
 * completed: the body ended and every line is committed; broken: the body broke off (the unfinished
 * last line was dropped, every complete line is committed); too-large: the synchronous form's limit
 * was passed (the lines before it are committed); stopped: the signal fired.
 */
export type ImportEnd = 'completed' | 'broken' | 'too-large' | 'stopped';

export interface ImportSummary {
  end: ImportEnd;
  /** Every line up to this one is committed (blank lines counted); nothing after it. */
  linesCommitted: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  /** With collectResults: one per non-blank committed line, in line order. */
  results: ImportLineResult[];
  /** Bytes of the unfinished line dropped when the body broke off. */
  droppedBytes: number;
  /** Why the body broke off: the connection closed, or its Content-Encoding could not be decoded. */
  breakCause?: 'disconnected' | 'undecodable';
}

interface Chunk {
  items: { item: IncomingRecord; line: number }[];
  rejected: { line: number; outcome: ImportLineResult['outcome'] & object }[];
  throughLine: number;
}

/**
 * Reads `body` to its end (or break, or the signal) and stores its lines.
 * @throws what the store threw when a chunk's transaction could not commit (the lines before it are committed).
 */
export async function runImport(body: AsyncIterable<Buffer | string>, intake: Intake, options: ImportRunOptions): Promise<ImportSummary> {
  const splitter = new NdjsonLineSplitter(options.maxLineBytes);
  const summary: ImportSummary = { end: 'completed', linesCommitted: 0, accepted: 0, unchanged: 0, rejected: 0, results: [], droppedBytes: 0 };
  let chunk: Chunk = { items: [], rejected: [], throughLine: 0 };
  let inFlight: Promise<void> = Promise.resolve();
  let submittedThrough = 0;
  /** A chunk's transaction failed: reading stops, and runImport throws it once the chunk before is done. */
  let storeError: { error: unknown } | undefined;

  const commit = async (c: Chunk): Promise<void> => {
    const job: ImportJobProgress | undefined = options.jobId ? { jobId: options.jobId, throughLine: c.throughLine, rejected: c.rejected } : undefined;
    const outcomes =
      c.items.length > 0 || job
        ? await intake.submit(
            c.items.map(({ item, line }) => ({ item, ...(options.jobId ? { job: { jobId: options.jobId, line } } : {}) })),
            job
          )
        : [];
    const results: ImportLineResult[] = c.rejected.map((r) => ({ line: r.line, status: 'rejected', outcome: r.outcome }));
    outcomes.forEach((o, i) => {
      const line = c.items[i].line;
      if (o.ok) {
        const status = o.result.changed ? 'accepted' : 'unchanged';
        results.push({ line, kind: o.result.record.kind, id: o.result.record.id, status, version: o.result.record.version });
      } else {
        results.push({ line, status: 'rejected', outcome: toOutcome(o.error) });
      }
    });
    for (const r of results) {
      summary[r.status]++;
    }
    options.onCommitted?.(results);
    if (options.collectResults) {
      summary.results.push(...results.sort((a, b) => a.line - b.line));
    }
    summary.linesCommitted = c.throughLine;
  };

  /** Hands the chunk read so far to the committer, after the one before it (order matters for progress). */
  const flush = async (): Promise<void> => {
    const c = chunk;
    if (c.throughLine === submittedThrough) {
      return;
    }
    chunk = { items: [], rejected: [], throughLine: c.throughLine };
    submittedThrough = c.throughLine;
    await inFlight;
    if (!storeError) {
      inFlight = commit(c).catch((error: unknown) => {
        storeError = { error };
      });
    }
  };

  const take = (line: NdjsonLine): void => {
    chunk.throughLine = line.number;
    if (line.oversize !== undefined) {
      const message = `line ${line.number}: is ${line.oversize} bytes, longer than the limit of ${options.maxLineBytes} bytes for one record`;
      chunk.rejected.push({ line: line.number, outcome: inputInvalid([{ path: '', message }]) });
      return;
    }
    const text = line.text as string;
    if (text.trim() === '') {
      return;
    }
    try {
      chunk.items.push({ item: parseImportLine(text, line.number), line: line.number });
    } catch (err) {
      chunk.rejected.push({ line: line.number, outcome: toOutcome(err) });
    }
  };

  let bytes = 0;
  try {
    for await (const data of body) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      bytes += buf.length;
      if (options.maxBodyBytes !== undefined && bytes > options.maxBodyBytes) {
        summary.end = 'too-large';
        break;
      }
      splitter.push(buf).forEach(take);
      if (options.signal?.aborted) {
        summary.end = 'stopped';
        break;
      }
      if (chunk.items.length + chunk.rejected.length >= options.chunkLines) {
        await flush();
        if (storeError) {
          break;
        }
      }
    }
    if (summary.end === 'completed' && options.signal?.aborted) {
      summary.end = 'stopped'; // destroyed by a cancel or a shutdown: the stream may end without an error
    } else if (summary.end === 'completed' && !storeError) {
      splitter.end().forEach(take);
    }
  } catch (err) {
    // The body broke off (client gone, connection reset, undecodable encoding): the unfinished line is
    // dropped; the complete lines before it are stored below.
    summary.end = options.signal?.aborted ? 'stopped' : 'broken';
    summary.droppedBytes = splitter.pendingBytes;
    summary.breakCause = /^Z_/.test(String((err as { code?: unknown })?.code)) ? 'undecodable' : 'disconnected';
  }
  if (summary.end !== 'stopped' && !storeError) {
    await flush();
  }
  await inFlight;
  if (storeError) {
    throw storeError.error;
  }
  return summary;
}
