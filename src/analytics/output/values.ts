/** Small value helpers shared by the encoders. */
import type { Row } from '../sof/types.js';

/**
 * The row with its keys in column order (rows are built by merging partial rows, so their key order
 * may differ from the view's column order).
 */
export function orderedRow(row: Row, names: readonly string[]): Row {
  const out: Row = {};
  for (const name of names) {
    out[name] = row[name] ?? null;
  }
  return out;
}

/** A value as text for CSV and untyped Parquet columns: strings as they are, anything else as JSON; null stays null. */
export function asText(value: unknown): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
