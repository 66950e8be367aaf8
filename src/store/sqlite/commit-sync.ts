/**
 * The two ways the embedded store can make an intake group commit durable (STORE_COMMIT_SYNC). Both
 * fsync the commit before any of its requests is answered; they differ in which thread waits for it.
 * - `full` (default): SQLite's synchronous=FULL, the fixed choice for the embedded store: the commit
 *   fsyncs the WAL on the calling thread, which with better-sqlite3 is the event loop.
 * - `wal-fdatasync`: the group's frames are written with synchronous=NORMAL and the same WAL file is
 *   fdatasync'd on libuv's thread pool before the answers (wal-sync.ts), so the event loop reads the
 *   next requests meanwhile. docs/benchmarks.md compares the two.
 */
export const COMMIT_SYNC_MODES = ['full', 'wal-fdatasync'] as const;
export type CommitSync = (typeof COMMIT_SYNC_MODES)[number];
