/**
 * Rules no mapping file can switch off. Kept in code on purpose: they are law, not mapping choices,
 * and a mistaken edit of a mapping file must not be able to relax them.
 */
import type { RecordKind } from '../domain/records.js';
import type { Problem } from '../outcomes.js';

/**
 * HIPAA psychotherapy (process) notes, including those of joint and family sessions, are kept apart
 * from the medical record and never leave the practice (45 CFR 164.501, 164.508(a)(2); docs/fhir-mapping.md#note).
 * note.v1.json refuses them as well; this is the backstop.
 * @returns The problem, or undefined when the record may be mapped.
 */
export function lawfulToMap(kind: RecordKind, record: unknown): Problem | undefined {
  const noteKind = kind === 'note' && record && typeof record === 'object' ? (record as { kind?: unknown }).kind : undefined;
  if (noteKind === 'psychotherapy-note') {
    return { path: '/kind', message: "HIPAA psychotherapy notes never leave the practice's system" };
  }
  return undefined;
}
