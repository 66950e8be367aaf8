/**
 * The rules JSON Schema cannot express, one function per kind. They run on inputs that may have
 * failed the schema, so every rule first checks that the fields it reads have the right shape and
 * otherwise stays silent (the schema problem already names the field).
 */
import { CLINICIAN_RELATIONSHIPS, type RecordKind } from '../domain/records.js';
import type { Problem } from '../outcomes.js';
import { isValidNpi } from './npi.js';
import { join } from './pointer.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (v: unknown, key: string): unknown => (isObj(v) && Object.hasOwn(v, key) ? v[key] : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const INSTANT = /^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;

// The comparisons below only read values that are valid by the schema's own standard; anything
// else already has a schema problem, and Date.parse would otherwise roll 2026-02-31 into March.
function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) {
    return false;
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

/** Milliseconds since the epoch of a valid instant with offset, or undefined. */
function instantMs(value: unknown): number | undefined {
  const m = typeof value === 'string' ? INSTANT.exec(value) : null;
  if (!m || !isCalendarDate(m[1]) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) {
    return undefined;
  }
  const ms = Date.parse(m[0]);
  return Number.isNaN(ms) ? undefined : ms;
}

const NPI_CHECK_MESSAGE = 'is not a valid NPI: the check digit (the last digit) does not match';

/** `end` before `start` in a period of dates (YYYY-MM-DD compares correctly as text). */
function periodProblems(period: unknown, at: string): Problem[] {
  const start = str(get(period, 'start'));
  const end = str(get(period, 'end'));
  if (start && end && isCalendarDate(start) && isCalendarDate(end) && end < start) {
    return [{ path: join(at, 'end'), message: 'must not be before start' }];
  }
  return [];
}

/** An NPI that has the 10-digit shape but the wrong check digit (other shapes fail the schema). */
function npiProblems(npi: unknown, at: string): Problem[] {
  return typeof npi === 'string' && /^[0-9]{10}$/.test(npi) && !isValidNpi(npi)
    ? [{ path: at, message: NPI_CHECK_MESSAGE }]
    : [];
}

function participantProblems(r: unknown, at: string): Problem[] {
  const problems = periodProblems(get(r, 'involvement'), join(at, 'involvement'));
  const npi = get(r, 'npi');
  const relationship = get(r, 'relationship');
  if (npi !== undefined && npi !== null) {
    if (typeof relationship === 'string' && !(CLINICIAN_RELATIONSHIPS as readonly string[]).includes(relationship)) {
      problems.push({
        path: join(at, 'npi'),
        message: `is only allowed when relationship is one of: ${CLINICIAN_RELATIONSHIPS.join(', ')}`,
      });
    }
    problems.push(...npiProblems(npi, join(at, 'npi')));
  }
  return problems;
}

function consentProblems(r: unknown, at: string): Problem[] {
  const problems = periodProblems(get(r, 'period'), join(at, 'period'));
  const status = get(r, 'status');
  const revocation = get(r, 'revocation');
  const revoked = revocation !== undefined && revocation !== null;
  if (status === 'revoked' && !revoked) {
    problems.push({ path: join(at, 'revocation'), message: 'is required when status is revoked' });
  } else if (typeof status === 'string' && status !== 'revoked' && revoked) {
    problems.push({ path: join(at, 'revocation'), message: 'must be absent or null unless status is revoked' });
  }
  return problems;
}

function sessionProblems(r: unknown, at: string): Problem[] {
  const problems = npiProblems(get(get(r, 'therapist'), 'npi'), join(at, 'therapist', 'npi'));
  const startMs = instantMs(get(r, 'start'));
  const endMs = instantMs(get(r, 'end'));
  // Instants carry offsets, so compare them as points in time, not as text.
  if (startMs !== undefined && endMs !== undefined && endMs < startMs) {
    problems.push({ path: join(at, 'end'), message: 'must not be before start' });
  }
  const participants = get(r, 'participants');
  if (Array.isArray(participants)) {
    const firstIndex = new Map<string, number>();
    participants.forEach((p, i) => {
      const id = str(get(p, 'participantId'));
      if (id === undefined) {
        return;
      }
      const first = firstIndex.get(id);
      if (first === undefined) {
        firstIndex.set(id, i);
      } else {
        problems.push({
          path: join(at, 'participants', i, 'participantId'),
          message: `repeats participant ${first} (each participant is listed once)`,
        });
      }
    });
  }
  return problems;
}

/**
 * The largest note text, in UTF-8 bytes, that can be sent. The text travels inline, base64-encoded, in
 * DocumentReference.content.attachment.data, and FHIR servers cap a string's length (medplum's
 * validator: 1 MiB = 1,048,576 characters); base64 turns 3 bytes into 4 characters, so 786,432 bytes is
 * the most that fits. A larger note would be accepted here and then refused by every target.
 */
export const MAX_NOTE_TEXT_BYTES = (1024 * 1024 * 3) / 4;

function noteProblems(r: unknown, at: string): Problem[] {
  const problems = npiProblems(get(get(r, 'author'), 'npi'), join(at, 'author', 'npi'));
  const text = str(get(r, 'text'));
  // Over the schema's character limit (the same number) the schema already says so; below it, only
  // multi-byte text can be too long.
  const bytes = text === undefined || text.length > MAX_NOTE_TEXT_BYTES ? 0 : Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_NOTE_TEXT_BYTES) {
    problems.push({
      path: join(at, 'text'),
      message: `is ${bytes} bytes in UTF-8; at most ${MAX_NOTE_TEXT_BYTES} bytes (768 KiB) can be sent inline to a FHIR server`,
    });
  }
  const id = get(r, 'id');
  if (typeof id === 'string' && get(r, 'amends') === id) {
    problems.push({ path: join(at, 'amends'), message: 'must name another note, not this note itself' });
  }
  return problems;
}

const RULES: Record<RecordKind, (record: unknown, at: string) => Problem[]> = {
  participant: participantProblems,
  consent: consentProblems,
  session: sessionProblems,
  note: noteProblems,
};

/**
 * Every semantic problem of a record: the cross-field rules JSON Schema cannot express.
 * @param kind - the record's kind.
 * @param record - the input, possibly malformed.
 * @param at - a JSON Pointer to the record within the input (`''` or `/record`).
 */
export function semanticProblems(kind: RecordKind, record: unknown, at = ''): Problem[] {
  return RULES[kind](record, at);
}
