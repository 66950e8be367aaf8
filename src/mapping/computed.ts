/**
 * The few values FHIRPath cannot compute, offered to templates as directives. Pure functions.
 */
import { createHash } from 'node:crypto';

/** The computed-value directives and what each does to one text value. */
export const COMPUTED = {
  /** Attachment.data: base64 of the UTF-8 bytes. */
  $base64: (text: string): string => Buffer.from(text, 'utf8').toString('base64'),
  /** Attachment.hash: base64 of the SHA-1 of the UTF-8 bytes (R4 Attachment.hash is SHA-1). */
  $sha1Base64: (text: string): string => createHash('sha1').update(text, 'utf8').digest('base64'),
  /** Attachment.size: the number of UTF-8 bytes (not characters). */
  $byteLength: (text: string): number => Buffer.byteLength(text, 'utf8'),
} as const;

export type ComputedDirective = keyof typeof COMPUTED;

/** Whole minutes from start to end (FHIRPath's date arithmetic has no duration between two dateTimes). */
export function minutesBetween(start: string, end: string): number | string {
  const from = Date.parse(start);
  const to = Date.parse(end);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    return `cannot read '${Number.isNaN(from) ? start : end}' as a date-time`;
  }
  if (to < from) {
    return `end ${end} is before start ${start}`;
  }
  return Math.round((to - from) / 60000);
}
