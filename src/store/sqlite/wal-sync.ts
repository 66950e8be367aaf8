/**
 * The fsync of a group commit, off the event loop. With synchronous=FULL in WAL mode, SQLite makes a
 * commit durable by syncing the WAL file right after writing the commit's frames, on the calling
 * thread: with better-sqlite3 that is the event loop, blocked for the whole fsync (milliseconds on a
 * real disk) while no request can be read or answered. The group commit instead writes its frames with
 * synchronous=NORMAL (no sync at commit; everything else stays FULL) and then syncs the same WAL file
 * here, on libuv's thread pool, before any of its requests is answered: the same write to the same
 * file before the same answer, while the event loop reads the next requests. A kill -9 loses nothing
 * written (the frames are in the OS page cache), and a power loss nothing answered (synced first).
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

export class WalSync {
  private fd: number | undefined;
  private ino: number | undefined;

  /** @param walPath - the database's `-wal` file. */
  constructor(private readonly walPath: string) {}

  /** Resolves once everything written to the WAL so far is on stable storage. */
  async sync(): Promise<void> {
    const fd = this.open();
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** Our descriptor of the WAL file, opened again if SQLite replaced the file (a new inode). */
  private open(): number {
    const ino = statSync(this.walPath).ino;
    if (this.fd === undefined || ino !== this.ino) {
      this.close();
      this.fd = openSync(this.walPath, 'r');
      this.ino = fstatSync(this.fd).ino;
    }
    return this.fd;
  }
}
