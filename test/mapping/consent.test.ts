import type { Consent } from '@medplum/fhirtypes';
import { ACTCODE, byId, codes, consent, expectValid, map, mapOne, NS, participant, PATIENT_REF, problemsOf } from './fixtures.js';

const REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const POLICY = 'http://terminology.hl7.org/CodeSystem/consentpolicycodes';
const PART2_URI = 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2';

const mother = participant({ id: 'p-001', relationship: 'mother' });
const guardian = participant({ id: 'p-002', relationship: 'guardian' });
const psychiatrist = participant({ id: 'p-003', relationship: 'psychiatrist', npi: '1497758544' });
const context = { participants: byId(mother, guardian, psychiatrist) };

function mapConsent(overrides: Parameters<typeof consent>[0] = {}): Consent {
  return mapOne<Consent>('consent', consent(overrides), context);
}

describe('consent.v1 -> Consent', () => {
  test('the product.md example', () => {
    const [mapped] = map('consent', consent(), context).resources;
    expect(mapped).toMatchObject({ key: { system: `${NS}/sid/roi`, value: 'c-001' }, write: 'upsert', sourceId: 'c-001' });
    const c = mapped.resource as Consent;
    expect(c).toMatchObject({
      identifier: [{ system: `${NS}/sid/roi`, value: 'c-001' }],
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '64292-6' }] }],
      patient: { reference: PATIENT_REF },
      dateTime: '2026-01-10T15:00:00Z',
      performer: [{ reference: `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-002:MRN-1001` }],
      policyRule: { coding: [{ system: POLICY, code: 'hipaa-auth' }] },
      sourceAttachment: {
        contentType: 'application/pdf',
        data: 'JVBERi0xLjQK',
        title: 'Release of information',
        creation: '2026-01-10T15:00:00Z',
      },
    });
    expect(c.policy).toBeUndefined();
    expect(c.provision).toEqual({
      type: 'permit',
      period: { start: '2026-01-10', end: '2027-01-09' },
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
                display: 'information recipient',
              },
            ],
          },
          reference: { reference: `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-001:MRN-1001` },
        },
      ],
      action: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose', display: 'Disclose' }], text: 'Disclose' },
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'collect', display: 'Collect' }], text: 'Collect' },
      ],
      purpose: [
        { system: REASON, code: 'TREAT', display: 'treatment' },
        { system: REASON, code: 'COC', display: 'coordination of care' },
      ],
      provision: [
        {
          type: 'deny',
          securityLabel: [{ system: ACTCODE, code: 'SUD', display: 'substance use disorder information sensitivity' }],
        },
      ],
    });
    expectValid(c);
  });

  test.each([
    ['draft', 'draft'],
    ['active', 'active'],
    ['refused', 'rejected'],
    ['entered-in-error', 'entered-in-error'],
  ] as const)('status %s -> %s', (status, expected) => {
    const c = mapConsent({ status });
    expect(c.status).toBe(expected);
    expect(c.provision?.period?.end).toBe('2027-01-09');
    expectValid(c);
  });

  test('revoked -> inactive, and the provision ends at the revocation', () => {
    const c = mapConsent({ status: 'revoked', revocation: { at: '2026-03-01T09:30:00Z', reason: 'client request' } });
    expect(c.status).toBe('inactive');
    expect(c.provision?.period).toEqual({ start: '2026-01-10', end: '2026-03-01T09:30:00Z' });
    expectValid(c);
  });

  test('revoked without revocation.at is refused at /revocation', () => {
    expect(problemsOf(() => map('consent', consent({ status: 'revoked', revocation: null }), context))).toEqual([
      { path: '/revocation', message: expect.stringContaining('revocation.at') },
    ]);
  });

  test('hipaa-authorization (and no legal basis at all): hipaa-auth, no Part 2 labels', () => {
    for (const legalBasis of ['hipaa-authorization', undefined] as const) {
      const c = mapConsent({ legalBasis });
      expect(codes(c.policyRule)).toEqual([`${POLICY}|hipaa-auth`]);
      expect(c.policy).toBeUndefined();
      expect(c.provision?.securityLabel).toBeUndefined();
      expectValid(c);
    }
  });

  test('42-cfr-part-2: hipaa-auth + Part 2 policy uri + 42CFRPart2 and NORDSCLCDS labels', () => {
    const c = mapConsent({ legalBasis: '42-cfr-part-2' });
    expect(codes(c.policyRule)).toEqual([`${POLICY}|hipaa-auth`]);
    expect(c.policy).toEqual([{ uri: PART2_URI }]);
    expect(codes(c.provision?.securityLabel)).toEqual([`${ACTCODE}|42CFRPart2`, `${ACTCODE}|NORDSCLCDS`]);
    expectValid(c);
  });

  test('state-law: hipaa-auth', () => {
    const c = mapConsent({ legalBasis: 'state-law' });
    expect(codes(c.policyRule)).toEqual([`${POLICY}|hipaa-auth`]);
    expectValid(c);
  });

  test('signed by the client: performer is the Patient', () => {
    expect(mapConsent({ signedBy: null }).performer).toEqual([{ reference: PATIENT_REF }]);
  });

  test('a clinician recipient is referenced as a Practitioner', () => {
    const c = mapConsent({ recipients: ['p-001', 'p-003'] });
    expect(c.provision?.actor?.map((a) => a.reference.reference)).toEqual([
      `RelatedPerson?identifier=${NS}/sid/collateral-contact|p-001:MRN-1001`,
      `Practitioner?identifier=${NS}/sid/collateral-contact|p-003:MRN-1001`,
    ]);
    expectValid(c);
  });

  test('every purpose, action and sensitivity has a code', () => {
    const c = mapConsent({
      purposes: ['treatment', 'care-coordination', 'family-requested', 'patient-requested', 'support-network', 'power-of-attorney'],
      actions: ['disclose', 'collect', 'access', 'use', 'correct'],
      excludedSensitivities: ['substance-use', 'domestic-violence', 'sexual-health', 'hiv', 'genetic'],
    });
    expect(c.provision?.purpose?.map((p) => p.code)).toEqual(['TREAT', 'COC', 'FAMRQT', 'PATRQT', 'SUPNWK', 'PWATRNY']);
    expect(c.provision?.action?.map((a) => a.coding?.[0].code)).toEqual(['disclose', 'collect', 'access', 'use', 'correct']);
    expect(c.provision?.provision?.[0].securityLabel?.map((s) => s.code)).toEqual(['SUD', 'SDV', 'SEX', 'HIV', 'GDIS']);
    expectValid(c);
  });

  test('no exclusions and no form: no nested deny, no sourceAttachment', () => {
    const c = mapConsent({ excludedSensitivities: [], form: null });
    expect(c.provision?.provision).toBeUndefined();
    expect(c.sourceAttachment).toBeUndefined();
    expectValid(c);
  });

  test('every problem at once, each with its input path', () => {
    const problems = problemsOf(() =>
      map('consent', consent({ recipients: ['p-001', 'p-404'], purposes: ['treatment', 'marketing'] }), context)
    );
    expect(problems).toEqual([
      { path: '/recipients/1', message: expect.stringContaining('p-404') },
      { path: '/purposes/1', message: expect.stringContaining("'marketing'") },
    ]);
    const more = problemsOf(() => map('consent', consent({ purposes: ['treatment', 'marketing'], actions: ['sell'] }), context));
    expect(more.map((p) => p.path).sort()).toEqual(['/actions/0', '/purposes/1']);
  });
});
