import { createHash } from 'node:crypto';
import type { DocumentReference } from '@medplum/fhirtypes';
import type { NoteRecord } from '../../src/domain/records.js';
import { ACTCODE, CONF, codes, CPT, expectValid, LOINC, map, mapOne, NS, note, PATIENT_REF, problemsOf, SCT, session } from './fixtures.js';

const context = { session: session() };

function mapNote(overrides: Partial<NoteRecord> = {}, ctx: object = context): DocumentReference {
  return mapOne<DocumentReference>('note', note(overrides), ctx);
}

describe('note.v1 -> DocumentReference', () => {
  test('the product.md example', () => {
    const [mapped] = map('note', note(), context).resources;
    expect(mapped).toMatchObject({ key: { system: `${NS}/sid/note`, value: 'n-001' }, write: 'upsert', sourceKind: 'note' });
    const d = mapped.resource as DocumentReference;
    const text = 'Mother reports improved sleep ...';
    expect(d).toEqual({
      resourceType: 'DocumentReference',
      meta: {
        security: [
          { system: CONF, code: 'R', display: 'restricted' },
          { system: ACTCODE, code: 'BH', display: 'behavioral health information sensitivity' },
          { system: ACTCODE, code: 'SDV', display: 'sexual assault, abuse, or domestic violence information sensitivity' },
        ],
        tag: [{ system: `${NS}/CodeSystem/mapping-version`, code: 'note.v1@1.0.0' }],
      },
      identifier: [{ system: `${NS}/sid/note`, value: 'n-001' }],
      status: 'current',
      docStatus: 'final',
      type: { coding: [{ system: LOINC, code: '34904-3', display: 'Mental health Progress note' }], text: 'Session summary' },
      category: [
        {
          coding: [
            {
              system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
              code: 'clinical-note',
              display: 'Clinical Note',
            },
          ],
        },
      ],
      subject: { reference: PATIENT_REF },
      date: '2026-02-01T17:10:00-05:00',
      author: [{ reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893' }],
      securityLabel: [
        { coding: [{ system: CONF, code: 'R', display: 'restricted' }] },
        { coding: [{ system: ACTCODE, code: 'BH', display: 'behavioral health information sensitivity' }] },
        {
          coding: [{ system: ACTCODE, code: 'SDV', display: 'sexual assault, abuse, or domestic violence information sensitivity' }],
          text: 'Domestic violence',
        },
      ],
      content: [
        {
          attachment: {
            contentType: 'text/plain',
            data: Buffer.from(text, 'utf8').toString('base64'),
            size: 33,
            hash: createHash('sha1').update(Buffer.from(text, 'utf8')).digest('base64'),
            title: 'Collateral session summary',
            creation: '2026-02-01T17:10:00-05:00',
          },
        },
      ],
      context: {
        encounter: [{ reference: `Encounter?identifier=${NS}/sid/session|s-001` }],
        event: [{ coding: [{ system: CPT, code: '90887' }], text: 'Collateral session, client absent' }],
        period: { start: '2026-02-01T16:00:00-05:00', end: '2026-02-01T16:50:00-05:00' },
        practiceSetting: { coding: [{ system: SCT, code: '394913002', display: 'Psychotherapy' }] },
        related: [{ reference: `Consent?identifier=${NS}/sid/roi|c-001` }],
      },
    });
    expectValid(d);
  });

  test('attachment: base64, UTF-8 byte size and SHA-1 match node:crypto for non-ASCII text', () => {
    const text = 'Mamá dice: «duerme mejor» 😴\nSegunda línea';
    const bytes = Buffer.from(text, 'utf8');
    const { attachment } = mapNote({ text }).content[0];
    expect(attachment.data).toBe(bytes.toString('base64'));
    expect(Buffer.from(attachment.data as string, 'base64').toString('utf8')).toBe(text);
    expect(attachment.size).toBe(bytes.length);
    expect(attachment.size).toBeGreaterThan(text.length);
    expect(attachment.hash).toBe(createHash('sha1').update(bytes).digest('base64'));
  });

  test.each([
    ['session-summary', '34904-3'],
    ['progress-note', '34904-3'],
  ] as const)('kind %s -> LOINC %s', (kind, code) => {
    const d = mapNote({ kind });
    expect(codes(d.type)).toEqual([`${LOINC}|${code}`]);
    expectValid(d);
  });

  test('a kind the ConceptMap does not list falls back to LOINC 11506-3', () => {
    const d = mapNote({ kind: 'intake-summary' as never });
    expect(d.type?.coding).toEqual([{ system: LOINC, code: '11506-3', display: 'Progress note' }]);
  });

  test('a psychotherapy note never maps: transformFailed at /kind', () => {
    const problems = problemsOf(() => map('note', note({ kind: 'psychotherapy-note' }), context));
    expect(problems).toEqual([{ path: '/kind', message: expect.stringContaining('psychotherapy') }]);
  });

  test.each([
    ['preliminary', 'current', 'preliminary'],
    ['final', 'current', 'final'],
    ['amended', 'current', 'amended'],
    ['entered-in-error', 'entered-in-error', 'entered-in-error'],
  ] as const)('status %s -> status %s, docStatus %s', (status, expectedStatus, docStatus) => {
    const d = mapNote({ status });
    expect([d.status, d.docStatus]).toEqual([expectedStatus, docStatus]);
    expectValid(d);
  });

  test('sensitivities: one ActCode per sensitivity in meta.security and securityLabel', () => {
    const d = mapNote({ sensitivities: ['substance-use', 'domestic-violence', 'sexual-health', 'hiv', 'genetic'] });
    const expected = ['SUD', 'SDV', 'SEX', 'HIV', 'GDIS'].map((c) => `${ACTCODE}|${c}`);
    expect(codes(d.meta?.security)).toEqual([`${CONF}|R`, `${ACTCODE}|BH`, ...expected]);
    expect(codes(d.securityLabel)).toEqual([`${CONF}|R`, `${ACTCODE}|BH`, ...expected]);
    expectValid(d);
  });

  test('no sensitivities: R + BH only', () => {
    const d = mapNote({ sensitivities: [] });
    expect(codes(d.meta?.security)).toEqual([`${CONF}|R`, `${ACTCODE}|BH`]);
    expect(d.securityLabel).toHaveLength(2);
  });

  test('an amendment replaces the amended note', () => {
    const d = mapNote({ id: 'n-002', status: 'amended', amends: 'n-001' });
    expect(d.identifier).toEqual([{ system: `${NS}/sid/note`, value: 'n-002' }]);
    expect(d.relatesTo).toEqual([{ code: 'replaces', target: { reference: `DocumentReference?identifier=${NS}/sid/note|n-001` } }]);
    expect(d.docStatus).toBe('amended');
    expectValid(d);
  });

  test('context.event follows the session type and attendance; subject is the session client', () => {
    const d = mapNote({}, { session: session({ type: 'family', clientPresent: true, client: { mrn: 'MRN-2002' }, consentIds: undefined }) });
    expect(codes(d.context?.event)).toEqual([`${CPT}|90847`]);
    expect(d.subject?.reference).toContain('|MRN-2002');
    expect(d.context?.related).toBeUndefined();
    expectValid(d);
  });

  test('unsigned preliminary note: no date, no creation', () => {
    const d = mapNote({ status: 'preliminary', signedAt: null });
    expect(d.date).toBeUndefined();
    expect(d.content[0].attachment.creation).toBeUndefined();
    expectValid(d);
  });

  test('the session must be in the context, and be the note session', () => {
    expect(problemsOf(() => map('note', note(), {}))).toEqual([{ path: '/sessionId', message: expect.stringContaining('s-001') }]);
    expect(problemsOf(() => map('note', note({ sessionId: 's-999' }), context))).toEqual([
      { path: '/sessionId', message: expect.stringContaining('s-001') },
    ]);
  });
});
