/**
 * The progress bar of `collateral-fhir import` (stderr, only when it is a terminal): how much of the
 * file is sent, the lines the service has committed and their rate, and the time left, estimated from
 * the file's size and the rate at which its bytes are taken.
 */

export interface ImportProgress {
  bytesSent: number;
  totalBytes: number;
  /** Lines the job has committed (its status). */
  linesRead: number;
  rejected: number;
  /** Committed lines per second over the last interval. */
  linesPerSecond: number;
  /** Seconds since the upload started. */
  elapsedSeconds: number;
}

/** "1m05s", "42s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '?';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Time left: the bytes still to send at the average rate so far (the service reads as fast as it stores). */
export function etaSeconds(p: ImportProgress): number {
  if (p.bytesSent <= 0 || p.elapsedSeconds <= 0) {
    return Number.NaN;
  }
  return ((p.totalBytes - p.bytesSent) * p.elapsedSeconds) / p.bytesSent;
}

/**
 * One line of progress, at most `columns` wide:
 * `[#########...........]  45%  123,456 lines  5,123 lines/s  ETA 1m20s  (3 rejected)`.
 */
export function progressLine(p: ImportProgress, columns = 80): string {
  const fraction = p.totalBytes > 0 ? Math.min(1, p.bytesSent / p.totalBytes) : 0;
  const rejected = p.rejected > 0 ? `  (${p.rejected.toLocaleString('en-US')} rejected)` : '';
  const text = `${String(Math.floor(fraction * 100)).padStart(3)}%  ${p.linesRead.toLocaleString('en-US')} lines  ${Math.round(p.linesPerSecond).toLocaleString('en-US')} lines/s  ETA ${formatDuration(etaSeconds(p))}${rejected}`;
  const barWidth = Math.max(10, Math.min(40, columns - text.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`.slice(0, Math.max(20, columns - 1));
}
