/**
 * Whether a session may be disclosed: under an exception, or when every non-clinician participant is
 * covered by a consent (clinicians need none). Also returns, per participant, the consents that cover
 * them, which the note rule narrows further.
 */
import { CLINICIAN_RELATIONSHIPS, type ConsentRecord, type Participant, type SessionRecord } from '../domain/records.js';
import { coverageProblem, type CoverageContext } from './coverage.js';
import { EXCEPTION_PURPOSE } from './exceptions.js';
import { dateIn, parseInstant } from './time.js';

export interface SessionAssessment {
  /** Set when the session is disclosed under an exception to confidentiality. */
  exception?: { basis: string; purposeOfUse: string; reason: string };
  /** Reasons the session is held (one per uncovered participant); empty when it may go. */
  holds: string[];
  /** Per participant id, the consents covering them (possibly empty for a clinician). */
  covering: Map<string, ConsentRecord[]>;
}

export function isClinician(p: Participant): boolean {
  return (CLINICIAN_RELATIONSHIPS as readonly string[]).includes(p.relationship);
}

/**
 * Assesses a session against the client's consents.
 * @param consents - every consent of the client; when the session names its consents (`consentIds`), only those count.
 */
export function assessSession(session: SessionRecord, consents: readonly ConsentRecord[], ctx: CoverageContext): SessionAssessment {
  const covering = new Map<string, ConsentRecord[]>();
  if (session.exception) {
    const { basis, reason } = session.exception;
    const purposeOfUse = EXCEPTION_PURPOSE[basis];
    if (!purposeOfUse) {
      return { holds: [`session ${session.id} names an unknown exception basis ${basis}`], covering };
    }
    return { exception: { basis, purposeOfUse, reason }, holds: [], covering };
  }

  // A session that names its consents is judged by those only: we do not substitute another authorization.
  const named = session.consentIds;
  const candidates = named ? consents.filter((c) => named.includes(c.id)) : [...consents];
  const missing = named ? named.filter((id) => !consents.some((c) => c.id === id)) : [];
  const start = parseInstant(session.start);
  const holds: string[] = [];
  for (const { participantId } of session.participants) {
    const p = ctx.participants.get(participantId);
    if (!p) {
      holds.push(`participant ${participantId} of session ${session.id} is not a participant of this client`);
      continue;
    }
    const problems = new Map(candidates.map((c) => [c, coverageProblem(c, participantId, start, ctx)]));
    const ok = candidates.filter((c) => problems.get(c) === undefined);
    covering.set(participantId, ok);
    if (ok.length > 0 || isClinician(p)) {
      continue;
    }
    // Explain with the consents that concern this participant (or were named), not every consent of the client.
    const details = candidates
      .filter((c) => named || c.recipients.includes(participantId))
      .map((c) => problems.get(c) as string)
      .concat(missing.map((id) => `${id} has not been received`));
    holds.push(`no consent covers ${participantId} on ${dateIn(start, ctx.timeZone)}${details.length ? ` (${details.join('; ')})` : ''}`);
  }
  return { holds, covering };
}
