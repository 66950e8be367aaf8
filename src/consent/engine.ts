/**
 * The consent engine: a pure function from a record, the client's consents and participants, the time
 * and the target to permit, hold or deny, with the reasons and the consents relied on. The rules, in
 * plain words, are in docs/consent-and-privacy.md; each branch below names the rule it implements.
 */
import type { ConsentRecord, NoteRecord, Participant, SessionRecord } from '../domain/records.js';
import { PSYCHOTHERAPY_NOTE_REASON } from '../intake/policy.js';
import { endedProblem, noteProblem, standingProblem, type CoverageContext } from './coverage.js';
import { TREATMENT } from './exceptions.js';
import { assessSession, isClinician, type SessionAssessment } from './session-rule.js';
import { dateIn } from './time.js';
import type { EngineDecision, EngineInput } from './types.js';

/** Decides whether the record may be disclosed to the target now. */
export function decideDisclosure(input: EngineInput): EngineDecision {
  const ctx: CoverageContext = {
    participants: new Map(input.participants.map((p) => [p.id, p])),
    timeZone: input.timeZone,
    now: input.now.getTime(),
  };
  switch (input.kind) {
    case 'participant':
      return decideParticipant(input.record as Participant, input.consents, ctx);
    case 'consent':
      return decideConsent(input.record as ConsentRecord, ctx, input.onTarget === true);
    case 'session':
      return fromAssessment(assessSession(input.record as SessionRecord, input.consents, ctx));
    case 'note':
      return decideNote(input.record as NoteRecord, input.session, input.consents, ctx);
  }
}

function permit(consents: ConsentRecord[], reasons: string[] = []): EngineDecision {
  const unique = [...new Map(consents.map((c) => [c.id, c])).values()].sort((a, b) => a.id.localeCompare(b.id));
  return { effect: 'permit', reasons, consentIds: unique.map((c) => c.id), consents: unique, purposeOfUse: TREATMENT };
}

function refuse(effect: 'hold' | 'deny', reasons: string[]): EngineDecision {
  return { effect, reasons, consentIds: [], consents: [] };
}

function underException(a: SessionAssessment): EngineDecision {
  const e = a.exception as NonNullable<SessionAssessment['exception']>;
  return {
    effect: 'permit',
    // The free-text reason may describe the client: it goes to the AuditEvent only, the state names the basis.
    reasons: [`disclosed without consent under the ${e.basis} exception (${e.purposeOfUse})`],
    consentIds: [],
    consents: [],
    purposeOfUse: e.purposeOfUse,
    exceptionReason: e.reason,
  };
}

function fromAssessment(a: SessionAssessment): EngineDecision {
  if (a.exception) {
    return underException(a);
  }
  if (a.holds.length > 0) {
    return refuse('hold', a.holds);
  }
  return permit([...a.covering.values()].flat());
}

/**
 * A participant (RelatedPerson) is disclosed only while some consent in force names them (as recipient
 * or as the guardian who signed); a clinician (Practitioner) needs none. Participants of a session
 * disclosed under an exception go with that session; later updates of them wait for a consent.
 */
function decideParticipant(p: Participant, consents: readonly ConsentRecord[], ctx: CoverageContext): EngineDecision {
  if (isClinician(p)) {
    return permit([]);
  }
  const naming = consents.filter((c) => c.recipients.includes(p.id) || c.signedBy?.participantId === p.id);
  const inForce = naming.filter((c) => endedProblem(c, ctx) === undefined);
  if (inForce.length > 0) {
    return permit(inForce);
  }
  const details = naming.map((c) => endedProblem(c, ctx) as string);
  return refuse('hold', [`no consent in force names ${p.id} on ${dateIn(ctx.now, ctx.timeZone)}${details.length ? ` (${details.join('; ')})` : ''}`]);
}

/**
 * A consent record is the client's own authorization. One in force is synced (with the people it
 * names), and so is any change to one the target already holds, a revocation above all. One that was
 * never sent and no longer permits anything (revoked, ended) stays local: sending it now would name its
 * recipients to the EHR after the client withdrew or the authorization ran out. Drafts, refusals and
 * entries in error authorize nothing and stay local unless they correct a version already sent. One
 * signed for a minor by a participant who is not a legal guardian waits until that is corrected.
 */
function decideConsent(c: ConsentRecord, ctx: CoverageContext, onTarget: boolean): EngineDecision {
  if (onTarget) {
    return permit([]);
  }
  if (c.status === 'active') {
    const invalid = standingProblem(c, ctx);
    if (invalid) {
      return refuse('hold', [invalid]);
    }
    const ended = endedProblem(c, ctx);
    return ended ? refuse('deny', [`consent ${ended} and was never sent: it permits nothing new and is kept local`]) : permit([]);
  }
  if (c.status === 'revoked') {
    return refuse('deny', [`consent ${c.id} was revoked before it was ever sent: it is kept local`]);
  }
  return refuse('deny', [`consent ${c.id} is ${c.status}: it authorizes nothing and is kept local`]);
}

/**
 * A note is disclosed only if its session is, and, for each participant with a covering consent, one of
 * those consents lists a data class covering the note's kind (coverage.ts) and excludes none of its sensitivities.
 * Notes of a session disclosed under an exception go under the same exception. Psychotherapy notes never.
 */
function decideNote(note: NoteRecord, session: SessionRecord | undefined, consents: readonly ConsentRecord[], ctx: CoverageContext): EngineDecision {
  if (note.kind === 'psychotherapy-note') {
    return refuse('deny', [PSYCHOTHERAPY_NOTE_REASON]);
  }
  if (!session || session.id !== note.sessionId) {
    return refuse('hold', [`note ${note.id} belongs to session ${note.sessionId}, not received yet`]);
  }
  const a = assessSession(session, consents, ctx);
  if (a.exception) {
    return underException(a);
  }
  if (a.holds.length > 0) {
    return refuse('hold', a.holds);
  }
  const relied: ConsentRecord[] = [];
  const holds: string[] = [];
  for (const [participantId, covering] of a.covering) {
    if (covering.length === 0) {
      continue; // a clinician without a consent: nothing narrows what may be shared
    }
    const allowing = covering.filter((c) => noteProblem(c, note) === undefined);
    if (allowing.length > 0) {
      relied.push(...allowing);
    } else {
      holds.push(`no consent for ${participantId} allows note ${note.id} (${covering.map((c) => noteProblem(c, note)).join('; ')})`);
    }
  }
  return holds.length > 0 ? refuse('hold', holds) : permit(relied);
}
