/**
 * An NDJSON result file: created with mode 0600 (never over an existing file), written with back-pressure
 * so a large export holds one line in memory at a time.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export class NdjsonFile {
  private readonly stream: WriteStream;
  private failure?: Error;
  /** Lines written. */
  count = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  async write(value: unknown): Promise<void> {
    if (this.failure) {
      throw this.failure;
    }
    this.count++;
    if (!this.stream.write(`${JSON.stringify(value)}\n`)) {
      await once(this.stream, 'drain');
    }
  }

  async close(): Promise<void> {
    if (this.failure) {
      throw this.failure;
    }
    this.stream.end();
    await once(this.stream, 'finish');
  }

  /** Closes without waiting for anything but the file handle (after a failure or a cancel). */
  async abandon(): Promise<void> {
    if (!this.stream.closed) {
      this.stream.destroy();
      await once(this.stream, 'close').catch(() => undefined);
    }
  }
}
