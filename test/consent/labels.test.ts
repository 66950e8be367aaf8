/**
 * Security labels and links that follow the gate's decision (docs/fhir-mapping.md#security-labels): R + BH always,
 * a sensitivity code per note sensitivity, 42CFRPart2 + NORDSCLCDS when a consent relied on is a Part 2
 * consent, the exception's purpose of use, and DocumentReference.context.related -> the consents relied on.
 */
import { validateResource } from '@medplum/core';
import type { Coding, DocumentReference, Encounter, Resource } from '@medplum/fhirtypes';
import type { ConsentRecord, Participant } from '../../src/domain/records.js';
import { loadMappings, mapRecord, type MappingContext, type MappingSet } from '../../src/mapping/index.js';
import { consent, note, participants, session } from './builders.js';

const NS = 'https://fhir.example-practice.org';
const config = { ns: NS, mrnSystem: 'https://fhir.example-hospital.org/sid/mrn' };
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

let set: MappingSet;
beforeAll(() => {
  set = loadMappings();
});

const part2 = consent({ id: 'c-p2', legalBasis: '42-cfr-part-2' });
const withParticipants: Pick<MappingContext, 'participants'> = { participants: { 'p-001': participants.mother as Participant } };

function mapSession(ctx: Partial<MappingContext>, s = session()): Encounter {
  return mapRecord(set, 'session', s, { config, ...withParticipants, ...ctx }).resources[0].resource as Encounter;
}

function mapNote(ctx: Partial<MappingContext>, n = note(), s = session({ consentIds: ['c-named'] })): DocumentReference {
  return mapRecord(set, 'note', n, { config, session: s, ...ctx }).resources[0].resource as DocumentReference;
}

const codes = (list: Coding[] | undefined): string[] => (list ?? []).map((c) => `${c.system}|${c.code}`);
const labelCodes = (d: DocumentReference): string[] => (d.securityLabel ?? []).flatMap((l) => codes(l.coding));
const strip = (r: Resource): Resource => ({ ...r, meta: { ...r.meta, tag: undefined } });

describe('labels and links from the disclosure decision', () => {
  test('an Encounter under a HIPAA consent: R + BH only', () => {
    const e = mapSession({ consents: [consent()], purposeOfUse: 'TREAT' });
    expect(codes(e.meta?.security)).toEqual([`${CONF}|R`, `${ACT}|BH`]);
  });

  test('an Encounter under a 42 CFR Part 2 consent also carries 42CFRPart2 and the no-redisclosure refrain', () => {
    const e = mapSession({ consents: [consent(), part2], purposeOfUse: 'TREAT' });
    expect(codes(e.meta?.security)).toEqual([`${CONF}|R`, `${ACT}|BH`, `${ACT}|42CFRPart2`, `${ACT}|NORDSCLCDS`]);
    expect(() => validateResource(strip(e))).not.toThrow();
  });

  test.each([
    ['danger-to-self', 'THREAT', 'threat'],
    ['court-order', 'HLEGAL', 'legal'],
    ['emergency', 'ETREAT', 'Emergency Treatment'],
  ])('an Encounter disclosed under the %s exception carries purpose of use %s', (basis, code, display) => {
    const e = mapSession({ consents: [], purposeOfUse: code }, session({ exception: { basis, reason: 'r' } }));
    expect(e.meta?.security).toContainEqual({ system: REASON, code, display });
  });

  test('a note carries a sensitivity code per sensitivity, in meta.security and securityLabel alike', () => {
    const d = mapNote({ consents: [part2], purposeOfUse: 'TREAT' }, note({ sensitivities: ['substance-use', 'domestic-violence'] }));
    const expected = [`${CONF}|R`, `${ACT}|BH`, `${ACT}|SUD`, `${ACT}|SDV`, `${ACT}|42CFRPart2`, `${ACT}|NORDSCLCDS`];
    expect(codes(d.meta?.security)).toEqual(expected);
    expect(labelCodes(d)).toEqual(expected);
    expect(() => validateResource(strip(d))).not.toThrow();
  });

  test('a note links the consents the decision relied on, not the ones the session merely names', () => {
    const relied: ConsentRecord[] = [consent({ id: 'c-001' }), consent({ id: 'c-002' })];
    const d = mapNote({ consents: relied, purposeOfUse: 'TREAT' });
    expect(d.context?.related).toEqual([
      { reference: `Consent?identifier=${NS}/sid/roi|c-001` },
      { reference: `Consent?identifier=${NS}/sid/roi|c-002` },
    ]);
  });

  test('a note under an exception links no consent', () => {
    const d = mapNote({ consents: [], purposeOfUse: 'THREAT' });
    expect(d.context?.related).toBeUndefined();
    expect(labelCodes(d)).toContain(`${REASON}|THREAT`);
  });

  test('without a gate decision (workbench, golden cases) the note links the consents its session names', () => {
    const d = mapNote({});
    expect(d.context?.related).toEqual([{ reference: `Consent?identifier=${NS}/sid/roi|c-named` }]);
    expect(codes(d.meta?.security)).toEqual([`${CONF}|R`, `${ACT}|BH`]);
  });
});
