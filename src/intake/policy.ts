/**
 * Records that must never leave the practice. HIPAA psychotherapy notes (45 CFR 164.501, which
 * explicitly includes joint and family sessions) are stored locally and never enter the outbox.
 */
import type { AnyRecord, NoteRecord, RecordKind } from '../domain/records.js';

export const PSYCHOTHERAPY_NOTE_REASON =
  'psychotherapy-note: HIPAA psychotherapy notes are kept in the practice only and are never disclosed';

/** Returns why a record is kept local only, or undefined when it may be queued for sync. */
export function localOnlyReason(kind: RecordKind, record: AnyRecord): string | undefined {
  if (kind === 'note' && (record as NoteRecord).kind === 'psychotherapy-note') {
    return PSYCHOTHERAPY_NOTE_REASON;
  }
  return undefined;
}
