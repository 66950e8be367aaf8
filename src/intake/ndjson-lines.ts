/**
 * Splits an NDJSON byte stream into numbered lines in constant memory: a line longer than the limit is
 * not kept (its bytes are counted and dropped up to the next newline) and comes out as `oversize`, so
 * one huge line costs no memory and does not stop the lines after it. Lines are cut at the newline
 * byte, which never occurs inside a multi-byte UTF-8 character, and decoded one by one.
 * (readline and split2 have no line numbers with a per-line limit that goes on after a long line.)
 */

export interface NdjsonLine {
  /** 1-based, blank lines counted. */
  number: number;
  /** The line's text without its line break (a trailing CR is removed); absent when oversize. */
  text?: string;
  /** Set when the line was longer than the limit: its length in bytes. */
  oversize?: number;
}

const NEWLINE = 0x0a;

export class NdjsonLineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private dropping = false;
  private lineNumber = 0;

  /** @param maxLineBytes - the largest line kept (BODY_LIMIT_BYTES: the single-record limit). */
  constructor(private readonly maxLineBytes: number) {}

  /** The number of the last line returned (complete lines only). */
  get linesSplit(): number {
    return this.lineNumber;
  }

  /** Bytes of the unfinished line held so far (0 when the body ended on a line break). */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Buffer): NdjsonLine[] {
    const lines: NdjsonLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) {
        this.keep(chunk.subarray(start));
        return lines;
      }
      if (this.partBytes === 0 && !this.dropping && nl - start <= this.maxLineBytes) {
        // The whole line is in this chunk (the usual case): decode it in place.
        lines.push(this.lineOf(++this.lineNumber, chunk.toString('utf8', start, nl)));
      } else {
        this.keep(chunk.subarray(start, nl));
        lines.push(this.finishLine());
      }
      start = nl + 1;
    }
  }

  /**
   * The body ended cleanly: the last line, if it had no line break, is complete too. (When the body
   * broke off, do not call this: the unfinished line is dropped, never half-parsed.)
   */
  end(): NdjsonLine[] {
    return this.partBytes > 0 || this.dropping ? [this.finishLine()] : [];
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) {
      return;
    }
    this.partBytes += bytes.length;
    if (this.partBytes > this.maxLineBytes) {
      this.dropping = true;
      this.parts = [];
      return;
    }
    if (!this.dropping) {
      // A copy: the chunk's memory is the stream's (and may be a slice of a larger pooled buffer).
      this.parts.push(Buffer.from(bytes));
    }
  }

  private finishLine(): NdjsonLine {
    this.lineNumber++;
    const number = this.lineNumber;
    const size = this.partBytes;
    const dropped = this.dropping;
    const text = dropped ? undefined : Buffer.concat(this.parts, size).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    this.dropping = false;
    return dropped ? { number, oversize: size } : this.lineOf(number, text as string);
  }

  private lineOf(number: number, text: string): NdjsonLine {
    return { number, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  }
}
