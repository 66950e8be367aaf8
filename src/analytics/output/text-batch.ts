/**
 * Batches small strings into chunks of about 64 KiB: one write per chunk keeps the per-row cost of
 * streaming low, and holds back the response status until the first chunk (so an error in the
 * first rows still gets a proper OperationOutcome).
 */
const CHUNK_CHARS = 64 * 1024;

export class TextBatch {
  private parts: string[] = [];
  private size = 0;

  /** Adds text; returns a full chunk when there is one. */
  add(text: string): Uint8Array | undefined {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= CHUNK_CHARS ? this.take() : undefined;
  }

  /** Everything added and not yet taken. */
  take(): Uint8Array {
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    return chunk;
  }
}
