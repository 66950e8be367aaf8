/**
 * The consent engine, table-driven: one row per rule and per edge the issue names (consent starting or
 * ending on the session day in several time zones, two consents where only one covers, a guardian who
 * is not a legal guardian, exceptions, excluded sensitivities, data classes, revocation, expiry).
 */
import { decideDisclosure } from '../../src/consent/engine.js';
import type { EngineInput } from '../../src/consent/types.js';
import type { ConsentRecord } from '../../src/domain/records.js';
import { PSYCHOTHERAPY_NOTE_REASON } from '../../src/intake/policy.js';
import { allParticipants, consent, note, participants, session } from './builders.js';

interface Row {
  name: string;
  input: Partial<EngineInput> & Pick<EngineInput, 'kind' | 'record'>;
  effect: 'permit' | 'hold' | 'deny';
  /** Every reason must match, in order. */
  reasons?: (string | RegExp)[];
  consentIds?: string[];
  purposeOfUse?: string;
}

const NOW = new Date('2026-03-01T12:00:00Z');
const c001 = consent();
const mother = participants.mother;

function run(row: Row): ReturnType<typeof decideDisclosure> {
  return decideDisclosure({
    consents: [c001],
    participants: allParticipants,
    now: NOW,
    target: 'embedded',
    timeZone: 'UTC',
    ...row.input,
  });
}

function check(row: Row): void {
  const d = run(row);
  expect({ effect: d.effect }).toEqual({ effect: row.effect });
  if (row.reasons) {
    expect(d.reasons).toHaveLength(row.reasons.length);
    row.reasons.forEach((r, i) => (typeof r === 'string' ? expect(d.reasons[i]).toBe(r) : expect(d.reasons[i]).toMatch(r)));
  }
  if (row.consentIds) {
    expect(d.consentIds).toEqual(row.consentIds);
    expect(d.consents.map((c) => c.id)).toEqual(row.consentIds);
  }
  if (row.purposeOfUse) {
    expect(d.purposeOfUse).toBe(row.purposeOfUse);
  }
  if (d.effect !== 'permit') {
    expect(d.consentIds).toEqual([]);
  }
}

const sessionWith = (consents: ConsentRecord[], s = session(), extra: Partial<EngineInput> = {}): Row['input'] => ({
  kind: 'session',
  record: s,
  consents,
  ...extra,
});

const sessionRows: Row[] = [
  { name: 'a covering consent permits the session, for treatment', input: sessionWith([c001]), effect: 'permit', consentIds: ['c-001'], purposeOfUse: 'TREAT' },
  { name: 'no consent at all holds it, naming participant and date', input: sessionWith([]), effect: 'hold', reasons: ['no consent covers p-001 on 2026-02-01'] },
  {
    name: 'a revoked consent covers nothing',
    input: sessionWith([consent({ status: 'revoked', revocation: { at: '2026-02-15T09:00:00-05:00' } })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 was revoked at 2026-02-15T09:00:00-05:00)'],
  },
  {
    name: 'a consent revoked after the session but before sending permits nothing new',
    input: sessionWith([consent({ status: 'revoked', revocation: { at: '2026-02-20T00:00:00Z' } })], session(), { now: new Date('2026-02-21T00:00:00Z') }),
    effect: 'hold',
    reasons: [/^no consent covers p-001 on 2026-02-01 \(c-001 was revoked/],
  },
  { name: 'a draft consent covers nothing', input: sessionWith([consent({ status: 'draft' })]), effect: 'hold', reasons: ['no consent covers p-001 on 2026-02-01 (c-001 is draft)'] },
  { name: 'a refused consent covers nothing', input: sessionWith([consent({ status: 'refused' })]), effect: 'hold', reasons: [/\(c-001 is refused\)$/] },
  { name: 'a consent entered in error covers nothing', input: sessionWith([consent({ status: 'entered-in-error' })]), effect: 'hold', reasons: [/\(c-001 is entered-in-error\)$/] },
  {
    name: 'a consent that does not name the participant covers nothing (and is not listed as a detail)',
    input: sessionWith([consent({ recipients: ['p-003'] })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01'],
  },
  {
    name: 'a consent that allows only collect does not allow the disclosure',
    input: sessionWith([consent({ actions: ['collect'] })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 does not allow disclose)'],
  },
  { name: 'a consent without actions allows nothing', input: sessionWith([consent({ actions: undefined })]), effect: 'hold', reasons: [/c-001 does not allow disclose/] },
  {
    name: 'a consent starting on the session day covers it (a date starts at 00:00)',
    input: sessionWith([consent({ period: { start: '2026-02-01', end: '2027-01-09' } })]),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'a consent starting the day after the session does not cover it',
    input: sessionWith([consent({ period: { start: '2026-02-02', end: '2027-01-09' } })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 runs 2026-02-02 to 2027-01-09, which does not include 2026-02-01)'],
  },
  {
    name: 'a consent ending on the session day covers it until the end of that day',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-02-01' } })], session(), { now: new Date('2026-02-01T23:59:59.999Z') }),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'a consent ending on the session day permits nothing new once that day is over',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-02-01' } })], session(), { now: new Date('2026-02-02T00:00:00Z') }),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 ended on 2026-02-01)'],
  },
  {
    name: 'UTC: a late-evening New York session is on the next day, after a consent ending that day',
    input: sessionWith(
      [consent({ period: { start: '2026-01-10', end: '2026-02-01' } })],
      session({ start: '2026-02-01T22:30:00-05:00', end: '2026-02-01T23:20:00-05:00' }),
      { now: new Date('2026-02-01T23:45:00-05:00') }
    ),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-02 (c-001 runs 2026-01-10 to 2026-02-01, which does not include 2026-02-02)'],
  },
  {
    name: 'America/New_York: the same session is on the consent\'s last day and covered',
    input: sessionWith(
      [consent({ period: { start: '2026-01-10', end: '2026-02-01' } })],
      session({ start: '2026-02-01T22:30:00-05:00', end: '2026-02-01T23:20:00-05:00' }),
      { now: new Date('2026-02-01T23:45:00-05:00'), timeZone: 'America/New_York' }
    ),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'UTC: a consent starting the next day covers a late-evening New York session (already that day in UTC)',
    input: sessionWith([consent({ period: { start: '2026-02-02', end: '2027-01-09' } })], session({ start: '2026-02-01T22:30:00-05:00', end: null })),
    effect: 'permit',
  },
  {
    name: 'America/New_York: the same consent starts after that session',
    input: sessionWith([consent({ period: { start: '2026-02-02', end: '2027-01-09' } })], session({ start: '2026-02-01T22:30:00-05:00', end: null }), {
      timeZone: 'America/New_York',
    }),
    effect: 'hold',
    reasons: [/^no consent covers p-001 on 2026-02-01 \(c-001 runs 2026-02-02 to 2027-01-09/],
  },
  {
    name: 'Asia/Tokyo: a session at 20:00 UTC is already the next day, after a consent ending that day',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-02-01' } })], session({ start: '2026-02-01T20:00:00Z', end: null }), {
      now: new Date('2026-02-01T20:30:00Z'),
      timeZone: 'Asia/Tokyo',
    }),
    effect: 'hold',
    reasons: [/on 2026-02-02 /],
  },
  {
    name: 'America/New_York on the DST change day: covered until 23:59 EDT (03:59 UTC next day)',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-03-08' } })], session({ start: '2026-03-08T23:30:00-04:00', end: null }), {
      now: new Date('2026-03-08T23:40:00-04:00'),
      timeZone: 'America/New_York',
    }),
    effect: 'permit',
  },
  {
    name: 'America/New_York on the DST change day: 00:10 EDT the next day is not covered',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-03-08' } })], session({ start: '2026-03-09T00:10:00-04:00', end: null }), {
      now: new Date('2026-03-08T23:40:00-04:00'),
      timeZone: 'America/New_York',
    }),
    effect: 'hold',
    reasons: [/on 2026-03-09 /],
  },
  {
    name: 'a consent whose period has ended by the time of sending permits nothing new',
    input: sessionWith([consent({ period: { start: '2026-01-10', end: '2026-02-28' } })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 ended on 2026-02-28)'],
  },
  {
    name: 'a consent not yet in effect at the time of sending does not cover a planned session',
    input: sessionWith([consent({ period: { start: '2026-03-15', end: '2027-01-09' } })], session({ status: 'planned', start: '2026-04-01T10:00:00-04:00', end: null })),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-04-01 (c-001 is not in effect before 2026-03-15)'],
  },
  { name: 'an open period (no dates) covers any time', input: sessionWith([consent({ period: null })]), effect: 'permit', consentIds: ['c-001'] },
  {
    name: 'two consents where only one covers the participant: the one that covers is relied on',
    input: sessionWith([consent({ id: 'c-002', recipients: ['p-003'] }), c001]),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'two consents naming the participant, one expired: the one in force is relied on',
    input: sessionWith([consent({ id: 'c-000', period: { start: '2025-01-01', end: '2026-01-31' } }), c001]),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'two participants, only one covered: held for the other, named alone',
    input: sessionWith([c001], session({ participants: [{ participantId: 'p-001' }, { participantId: 'p-003' }] })),
    effect: 'hold',
    reasons: ['no consent covers p-003 on 2026-02-01'],
  },
  {
    name: 'two participants, each covered by a different consent: both relied on',
    input: sessionWith([c001, consent({ id: 'c-002', recipients: ['p-003'], signedBy: null })], session({ participants: [{ participantId: 'p-001' }, { participantId: 'p-003' }] })),
    effect: 'permit',
    consentIds: ['c-001', 'c-002'],
  },
  {
    name: 'a consent signed for the client by a participant who is not a legal guardian is not valid',
    input: sessionWith([consent({ signedBy: { participantId: 'p-002' } })]),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-001 was signed by p-002, who is not a legal guardian)'],
  },
  {
    name: 'a consent signed by someone who is not a participant of the client is not valid',
    input: sessionWith([consent({ signedBy: { participantId: 'p-999' } })]),
    effect: 'hold',
    reasons: [/c-001 was signed by p-999, who is not a participant of this client/],
  },
  { name: 'a consent the client signed (no signedBy) is valid', input: sessionWith([consent({ signedBy: null })]), effect: 'permit', consentIds: ['c-001'] },
  {
    name: 'a session that names its consents is judged by those only',
    input: sessionWith([c001, consent({ id: 'c-002', recipients: ['p-003'] })], session({ consentIds: ['c-002'] })),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-002 does not name p-001)'],
  },
  {
    name: 'a named consent not received yet holds the session',
    input: sessionWith([], session({ consentIds: ['c-009'] })),
    effect: 'hold',
    reasons: ['no consent covers p-001 on 2026-02-01 (c-009 has not been received)'],
  },
  {
    name: 'a named consent that covers permits',
    input: sessionWith([c001, consent({ id: 'c-002' })], session({ consentIds: ['c-002'] })),
    effect: 'permit',
    consentIds: ['c-002'],
  },
  {
    name: 'a clinician participant needs no consent',
    input: sessionWith([], session({ participants: [{ participantId: 'p-004' }] })),
    effect: 'permit',
    consentIds: [],
    purposeOfUse: 'TREAT',
  },
  {
    name: 'a consent covering a clinician is relied on when there is one',
    input: sessionWith([consent({ id: 'c-psy', recipients: ['p-004'], legalBasis: '42-cfr-part-2' })], session({ participants: [{ participantId: 'p-004' }] })),
    effect: 'permit',
    consentIds: ['c-psy'],
  },
  {
    name: 'a clinician does not excuse an uncovered family member',
    input: sessionWith([], session({ participants: [{ participantId: 'p-004' }, { participantId: 'p-002' }] })),
    effect: 'hold',
    reasons: ['no consent covers p-002 on 2026-02-01'],
  },
  {
    name: 'a participant filed under another client is not covered here',
    input: sessionWith([c001], session({ participants: [{ participantId: 'p-777' }] })),
    effect: 'hold',
    reasons: ['participant p-777 of session s-001 is not a participant of this client'],
  },
  ...(
    [
      ['danger-to-self', 'THREAT'],
      ['danger-to-others', 'THREAT'],
      ['court-order', 'HLEGAL'],
      ['emergency', 'ETREAT'],
    ] as const
  ).map(
    ([basis, purpose]): Row => ({
      name: `an exception (${basis}) is disclosed without consent, for ${purpose}`,
      input: sessionWith([], session({ exception: { basis, reason: 'Fictitious reason text' } })),
      effect: 'permit',
      consentIds: [],
      purposeOfUse: purpose,
      reasons: [`disclosed without consent under the ${basis} exception (${purpose})`],
    })
  ),
];

const noteIn = (n = note(), s = session(), consents: ConsentRecord[] = [c001], extra: Partial<EngineInput> = {}): Row['input'] => ({
  kind: 'note',
  record: n,
  session: s,
  consents,
  ...extra,
});

const noteRows: Row[] = [
  { name: 'note: its kind among the data classes, nothing excluded: permitted', input: noteIn(), effect: 'permit', consentIds: ['c-001'], purposeOfUse: 'TREAT' },
  {
    name: 'note: a psychotherapy note is never disclosed, whatever the consents',
    input: noteIn(note({ kind: 'psychotherapy-note' }), session(), [consent({ dataClasses: ['session-summary', 'progress-note'] })]),
    effect: 'deny',
    reasons: [PSYCHOTHERAPY_NOTE_REASON],
  },
  {
    name: 'note: a psychotherapy note is not disclosed under an exception either',
    input: noteIn(note({ kind: 'psychotherapy-note' }), session({ exception: { basis: 'emergency', reason: 'x' } }), []),
    effect: 'deny',
    reasons: [PSYCHOTHERAPY_NOTE_REASON],
  },
  {
    name: 'note: its kind not among the data classes: held',
    input: noteIn(note({ kind: 'progress-note' }), session(), [consent({ dataClasses: ['attendance', 'session-summary'] })]),
    effect: 'hold',
    reasons: ['no consent for p-001 allows note n-001 (c-001 lists no data class covering progress-note (progress-note or progress))'],
  },
  {
    name: "note: the contract's data class progress covers a progress note",
    input: noteIn(note({ kind: 'progress-note' }), session(), [consent({ dataClasses: ['attendance', 'progress'] })]),
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'note: progress does not cover a session summary',
    input: noteIn(note({ kind: 'session-summary' }), session(), [consent({ dataClasses: ['progress'] })]),
    effect: 'hold',
    reasons: ['no consent for p-001 allows note n-001 (c-001 lists no data class covering session-summary (session-summary))'],
  },
  { name: 'note: a consent without data classes allows no note', input: noteIn(note(), session(), [consent({ dataClasses: undefined })]), effect: 'hold', reasons: [/lists no data class covering session-summary/] },
  {
    name: 'note: a sensitivity the consent excludes: held',
    input: noteIn(note({ sensitivities: ['domestic-violence', 'substance-use'] })),
    effect: 'hold',
    reasons: ['no consent for p-001 allows note n-001 (c-001 excludes substance-use)'],
  },
  { name: 'note: a sensitivity the consent does not exclude: permitted', input: noteIn(note({ sensitivities: ['domestic-violence'] })), effect: 'permit', consentIds: ['c-001'] },
  { name: 'note: its session not covered: held with the session reason', input: noteIn(note(), session(), []), effect: 'hold', reasons: ['no consent covers p-001 on 2026-02-01'] },
  {
    name: 'note: of two consents covering the participant, the one that allows the note is relied on',
    input: noteIn(note({ sensitivities: ['substance-use'] }), session(), [c001, consent({ id: 'c-002', excludedSensitivities: [] })]),
    effect: 'permit',
    consentIds: ['c-002'],
  },
  {
    name: 'note: of a session under an exception, it goes under the same exception',
    input: noteIn(note({ kind: 'progress-note', sensitivities: ['substance-use'] }), session({ exception: { basis: 'danger-to-self', reason: 'r' } }), []),
    effect: 'permit',
    consentIds: [],
    purposeOfUse: 'THREAT',
  },
  {
    name: 'note: a clinician-only session without consent leaves the note unrestricted',
    input: noteIn(note({ kind: 'progress-note', sensitivities: ['substance-use'] }), session({ participants: [{ participantId: 'p-004' }] }), []),
    effect: 'permit',
    consentIds: [],
  },
  {
    name: 'note: a consent covering a clinician still limits what the note may carry',
    input: noteIn(note({ sensitivities: ['substance-use'] }), session({ participants: [{ participantId: 'p-004' }] }), [consent({ id: 'c-psy', recipients: ['p-004'] })]),
    effect: 'hold',
    reasons: ['no consent for p-004 allows note n-001 (c-psy excludes substance-use)'],
  },
  {
    name: 'note: every participant needs a consent that allows it',
    input: noteIn(
      note({ kind: 'progress-note' }),
      session({ participants: [{ participantId: 'p-001' }, { participantId: 'p-003' }] }),
      [consent({ dataClasses: ['progress-note'] }), consent({ id: 'c-002', recipients: ['p-003'], dataClasses: ['attendance'] })]
    ),
    effect: 'hold',
    reasons: ['no consent for p-003 allows note n-001 (c-002 lists no data class covering progress-note (progress-note or progress))'],
  },
  { name: 'note: without its session it waits', input: { kind: 'note', record: note() }, effect: 'hold', reasons: ['note n-001 belongs to session s-001, not received yet'] },
];

const participantRows: Row[] = [
  { name: 'participant: named as recipient by a consent in force', input: { kind: 'participant', record: mother }, effect: 'permit', consentIds: ['c-001'] },
  {
    name: 'participant: the legal guardian who signed a consent naming someone else',
    input: { kind: 'participant', record: mother, consents: [consent({ recipients: ['p-003'] })] },
    effect: 'permit',
    consentIds: ['c-001'],
  },
  {
    name: 'participant: named by no consent: held',
    input: { kind: 'participant', record: participants.teacher },
    effect: 'hold',
    reasons: ['no consent in force names p-003 on 2026-03-01'],
  },
  {
    name: 'participant: named only by a revoked consent: held',
    input: { kind: 'participant', record: mother, consents: [consent({ status: 'revoked', revocation: { at: '2026-02-15T00:00:00Z' } })] },
    effect: 'hold',
    reasons: ['no consent in force names p-001 on 2026-03-01 (c-001 was revoked at 2026-02-15T00:00:00Z)'],
  },
  {
    name: 'participant: named only by an expired consent: held',
    input: { kind: 'participant', record: mother, consents: [consent({ period: { start: '2025-01-01', end: '2026-02-28' } })] },
    effect: 'hold',
    reasons: ['no consent in force names p-001 on 2026-03-01 (c-001 ended on 2026-02-28)'],
  },
  {
    name: 'participant: named only by a consent a non-guardian signed: held',
    input: { kind: 'participant', record: participants.father, consents: [consent({ recipients: ['p-002'], signedBy: { participantId: 'p-002' } })] },
    effect: 'hold',
    reasons: [/c-001 was signed by p-002, who is not a legal guardian/],
  },
  { name: 'participant: a clinician needs no consent', input: { kind: 'participant', record: participants.psychiatrist, consents: [] }, effect: 'permit', consentIds: [] },
];

const consentRows: Row[] = [
  { name: 'consent: an active one is synced', input: { kind: 'consent', record: c001 }, effect: 'permit' },
  {
    name: 'consent: one signed for the client by a non-guardian waits',
    input: { kind: 'consent', record: consent({ signedBy: { participantId: 'p-002' } }) },
    effect: 'hold',
    reasons: ['c-001 was signed by p-002, who is not a legal guardian'],
  },
  {
    name: 'consent: the revocation of one already on the target is synced',
    input: { kind: 'consent', record: consent({ status: 'revoked', revocation: { at: '2026-02-15T00:00:00Z' } }), onTarget: true },
    effect: 'permit',
  },
  {
    name: 'consent: one revoked before it was ever sent stays local (it would name its recipients after the withdrawal)',
    input: { kind: 'consent', record: consent({ status: 'revoked', revocation: { at: '2026-02-15T00:00:00Z' } }) },
    effect: 'deny',
    reasons: ['consent c-001 was revoked before it was ever sent: it is kept local'],
  },
  {
    name: 'consent: one whose period ended before it was ever sent stays local',
    input: { kind: 'consent', record: consent({ period: { start: '2025-01-01', end: '2026-02-28' } }) },
    effect: 'deny',
    reasons: ['consent c-001 ended on 2026-02-28 and was never sent: it permits nothing new and is kept local'],
  },
  {
    name: 'consent: a change to one on the target whose period has ended is synced',
    input: { kind: 'consent', record: consent({ period: { start: '2025-01-01', end: '2026-02-28' } }), onTarget: true },
    effect: 'permit',
  },
  {
    name: 'consent: one that begins later is synced now (it will be in force)',
    input: { kind: 'consent', record: consent({ period: { start: '2026-06-01', end: '2027-05-31' } }) },
    effect: 'permit',
  },
  { name: 'consent: a draft stays local', input: { kind: 'consent', record: consent({ status: 'draft' }) }, effect: 'deny', reasons: ['consent c-001 is draft: it authorizes nothing and is kept local'] },
  { name: 'consent: a refusal stays local', input: { kind: 'consent', record: consent({ status: 'refused' }) }, effect: 'deny' },
  { name: 'consent: an entry in error never sent stays local', input: { kind: 'consent', record: consent({ status: 'entered-in-error' }) }, effect: 'deny' },
  {
    name: 'consent: an entry in error already on the target is corrected there',
    input: { kind: 'consent', record: consent({ status: 'entered-in-error' }), onTarget: true },
    effect: 'permit',
  },
];

describe('consent engine: sessions', () => {
  test.each(sessionRows)('$name', check);
});

describe('consent engine: notes', () => {
  test.each(noteRows)('$name', check);
});

describe('consent engine: participants', () => {
  test.each(participantRows)('$name', check);
});

describe('consent engine: consent records', () => {
  test.each(consentRows)('$name', check);
});

describe('consent engine: known gaps', () => {
  // Known gap: marking an already-disclosed session "entered in error" after its consent was revoked is a
  // correction the EHR should receive, but the engine holds it like any new disclosure. Sending it safely
  // needs proof that nothing but the status changed since the disclosed version (not implemented).
  test.failing('a correction (entered in error) of a session already on the target goes out after a revocation', () => {
    const d = run({
      name: '',
      input: sessionWith([consent({ status: 'revoked', revocation: { at: '2026-02-15T00:00:00Z' } })], session({ status: 'entered-in-error' }), { onTarget: true }),
      effect: 'permit',
    });
    expect(d.effect).toBe('permit');
  });
});

describe('consent engine: properties', () => {
  test('an exception disclosure carries its free-text reason for the audit, never in the reasons', () => {
    const d = run({ name: '', input: sessionWith([], session({ exception: { basis: 'court-order', reason: 'Subpoena 12-345 fictitious' } })), effect: 'permit' });
    expect(d.exceptionReason).toBe('Subpoena 12-345 fictitious');
    expect(d.reasons.join(' ')).not.toContain('Subpoena');
  });

  test('the decision does not depend on the order of the consents', () => {
    const consents = [consent({ id: 'c-003' }), consent({ id: 'c-001' }), consent({ id: 'c-002', recipients: ['p-003'] })];
    const a = run({ name: '', input: sessionWith(consents), effect: 'permit' });
    const b = run({ name: '', input: sessionWith([...consents].reverse()), effect: 'permit' });
    expect(a).toEqual(b);
    expect(a.consentIds).toEqual(['c-001', 'c-003']);
  });

  test('the same input gives the same decision (pure)', () => {
    const input = sessionWith([c001]);
    expect(run({ name: '', input, effect: 'permit' })).toEqual(run({ name: '', input, effect: 'permit' }));
  });
});
