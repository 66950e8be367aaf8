/**
 * Finding a marker string wherever it could hide: as plain text, inside base64 (a DocumentReference
 * carries its text base64-encoded, at any byte alignment), in JSON values, in files and database rows.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The marker and the stable middle of its base64 encoding at each of the three byte alignments. */
export function needles(marker: string): string[] {
  const out = [marker];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k, 0x2e), Buffer.from(marker, 'utf8')]).toString('base64');
    // The first group may mix in the prefix bytes and the last may be partial: keep only what the marker alone decides.
    out.push(encoded.slice(k === 0 ? 0 : 4, encoded.length - 4));
  }
  return out;
}

/** True when the text holds the marker, plainly or base64-encoded. */
export function textHolds(text: string, marker: string): boolean {
  return needles(marker).some((n) => text.includes(n));
}

/** True when a file (and its SQLite -wal companion, if any) holds the marker, plainly or base64-encoded. */
export function fileHolds(path: string, marker: string): boolean {
  return [path, `${path}-wal`].filter((p) => existsSync(p)).some((p) => textHolds(readFileSync(p).toString('latin1'), marker));
}
