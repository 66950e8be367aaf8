/**
 * The tests one consent must pass: is it valid at all (status, signer), does it cover a participant at
 * a session's start and still now, does it allow a given note. Each answers with the reason it fails
 * (ids and dates only) or undefined when it passes.
 */
import type { ConsentRecord, NoteRecord, Participant } from '../domain/records.js';
import { dateIn, endOfDay, startOfDay } from './time.js';

export interface CoverageContext {
  /** The client's participants by id (to check who signed). */
  participants: ReadonlyMap<string, Participant>;
  timeZone: string;
  /** The moment of sending, epoch ms. */
  now: number;
}

/** Why a consent permits nothing at all (its status, or who signed it), or undefined. */
export function standingProblem(c: ConsentRecord, ctx: CoverageContext): string | undefined {
  if (c.status === 'revoked') {
    return `${c.id} was revoked${c.revocation?.at ? ` at ${c.revocation.at}` : ''}`;
  }
  if (c.status !== 'active') {
    return `${c.id} is ${c.status}`;
  }
  const signer = c.signedBy?.participantId;
  if (signer) {
    // The contract carries no birth date: any consent signed by someone other than the client is
    // treated as signed for a minor, and only a legal guardian may do that.
    const p = ctx.participants.get(signer);
    if (!p) {
      return `${c.id} was signed by ${signer}, who is not a participant of this client`;
    }
    if (p.legalGuardian !== true) {
      return `${c.id} was signed by ${signer}, who is not a legal guardian`;
    }
  }
  return undefined;
}

/** The consent's period as epoch ms: from the start of its first day to the end of its last (open ends are infinite). */
export function periodBounds(c: ConsentRecord, timeZone: string): { start: number; end: number } {
  return {
    start: c.period?.start ? startOfDay(c.period.start, timeZone) : -Infinity,
    end: c.period?.end ? endOfDay(c.period.end, timeZone) : Infinity,
  };
}

function periodText(c: ConsentRecord): string {
  return `${c.period?.start ?? 'open'} to ${c.period?.end ?? 'open'}`;
}

/** Why a consent has ended (revoked, invalid, or past its end) as of now, or undefined when it is still in force. */
export function endedProblem(c: ConsentRecord, ctx: CoverageContext): string | undefined {
  const standing = standingProblem(c, ctx);
  if (standing) {
    return standing;
  }
  if (ctx.now > periodBounds(c, ctx.timeZone).end) {
    return `${c.id} ended on ${c.period?.end}`;
  }
  return undefined;
}

/**
 * Why a consent does not let a session with this participant, starting at `sessionStart`, be disclosed
 * now, or undefined when it does: it must be active and validly signed, name the participant as a
 * recipient, allow `disclose`, and be in effect both at the session's start and at the moment of sending.
 */
export function coverageProblem(c: ConsentRecord, participantId: string, sessionStart: number, ctx: CoverageContext): string | undefined {
  const standing = standingProblem(c, ctx);
  if (standing) {
    return standing;
  }
  if (!c.recipients.includes(participantId)) {
    return `${c.id} does not name ${participantId}`;
  }
  if (!(c.actions ?? []).includes('disclose')) {
    return `${c.id} does not allow disclose`;
  }
  const { start, end } = periodBounds(c, ctx.timeZone);
  if (sessionStart < start || sessionStart > end) {
    return `${c.id} runs ${periodText(c)}, which does not include ${dateIn(sessionStart, ctx.timeZone)}`;
  }
  if (ctx.now > end) {
    return `${c.id} ended on ${c.period?.end}`;
  }
  if (ctx.now < start) {
    return `${c.id} is not in effect before ${c.period?.start}`;
  }
  return undefined;
}

/**
 * The note kinds each consent data class covers. A data class named like a note kind covers that kind;
 * `progress` (the contract's own example class) covers progress notes. The other classes (attendance,
 * treatment-plan, diagnosis, medications) cover no note: a note is disclosed only under a class that
 * names its kind. Psychotherapy notes are covered by none (they never leave). See docs/consent-and-privacy.md.
 */
export const NOTE_KINDS_BY_DATA_CLASS: Readonly<Record<string, readonly NoteRecord['kind'][]>> = Object.freeze({
  'session-summary': ['session-summary'],
  'progress-note': ['progress-note'],
  progress: ['progress-note'],
});

/** The data classes that cover a note kind. */
export function dataClassesCovering(kind: NoteRecord['kind']): string[] {
  return Object.entries(NOTE_KINDS_BY_DATA_CLASS)
    .filter(([, kinds]) => kinds.includes(kind))
    .map(([dataClass]) => dataClass);
}

/** Why a consent does not allow this note (its kind is not among the data classes, or a sensitivity is excluded), or undefined. */
export function noteProblem(c: ConsentRecord, note: NoteRecord): string | undefined {
  const covering = dataClassesCovering(note.kind);
  if (!(c.dataClasses ?? []).some((d) => covering.includes(d))) {
    const which = covering.length > 0 ? ` (${covering.join(' or ')})` : '';
    return `${c.id} lists no data class covering ${note.kind}${which}`;
  }
  const excluded = (note.sensitivities ?? []).filter((s) => (c.excludedSensitivities ?? []).includes(s));
  if (excluded.length > 0) {
    return `${c.id} excludes ${excluded.join(', ')}`;
  }
  return undefined;
}
