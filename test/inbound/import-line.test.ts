import { parseImportLine } from '../../src/inbound/validate.js';
import { consentExampleWithForm, noteExample, participantExample, problemsOf, sessionExample } from './helpers.js';

const line = (value: unknown): string => JSON.stringify(value);

describe('parseImportLine', () => {
  test.each([
    ['participant', participantExample],
    ['consent', consentExampleWithForm],
    ['session', sessionExample],
    ['note', noteExample],
  ])('a good %s line gives its kind and record', (kind, record) => {
    expect(parseImportLine(line({ kind, record }), 1)).toEqual({ kind, record });
  });

  test('the result narrows on kind', () => {
    const parsed = parseImportLine(line({ kind: 'session', record: sessionExample }), 1);
    // Compile-time check: after narrowing, session fields are typed.
    expect(parsed.kind === 'session' ? parsed.record.modality : undefined).toBe('video');
  });

  test('a trailing CR and a leading byte-order mark are tolerated', () => {
    expect(parseImportLine(`\uFEFF${line({ kind: 'note', record: noteExample })}\r`, 1).kind).toBe('note');
  });

  test('a line that is not JSON is refused with its line number, without quoting the text', () => {
    const problems = problemsOf(() => parseImportLine('{"kind": "note", "record": {"text": Secret}}', 3));
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('');
    expect(problems[0].message).toMatch(/^line 3: is not valid JSON/);
    expect(problems[0].message).not.toMatch(/Secret/);
  });

  test('an empty line is refused', () => {
    expect(problemsOf(() => parseImportLine('   ', 7))).toEqual([
      { path: '', message: 'line 7: is empty; each line must be one JSON object' },
    ]);
  });

  test('a line that is JSON but not an object is refused', () => {
    expect(problemsOf(() => parseImportLine('[1, 2]', 2))).toEqual([{ path: '', message: 'line 2: must be a JSON object' }]);
    expect(problemsOf(() => parseImportLine('null', 2))).toEqual([{ path: '', message: 'line 2: must be a JSON object' }]);
  });

  test('an unknown kind is refused and lists the kinds', () => {
    expect(problemsOf(() => parseImportLine(line({ kind: 'invoice', record: {} }), 4))).toEqual([
      { path: '/kind', message: 'line 4: must be one of: participant, consent, session, note' },
    ]);
  });

  test('the envelope must have exactly kind and record', () => {
    const problems = problemsOf(() => parseImportLine(line({ kind: 'note', recrod: noteExample }), 5));
    expect(problems.map((p) => p.path).sort()).toEqual(['/record', '/recrod']);
    expect(problemsOf(() => parseImportLine(line({ kind: 'note', record: 'n-1' }), 5))).toEqual([
      { path: '/record', message: 'line 5: must be a JSON object' },
    ]);
  });

  test('a bad record is refused with paths into the line and the line number in every message', () => {
    const { client: _client, ...noClient } = participantExample;
    const record = { ...noClient, relationship: 'aunt', client: {} };
    expect(problemsOf(() => parseImportLine(line({ kind: 'participant', record }), 12))).toEqual([
      { path: '/record/client/mrn', message: 'line 12: is required' },
      { path: '/record/relationship', message: expect.stringMatching(/^line 12: must be one of: mother, father/) },
    ]);
  });

  test('semantic problems are reported with paths into the line too', () => {
    const record = { ...consentExampleWithForm, status: 'revoked', period: { start: '2026-02-01', end: '2026-01-01' } };
    expect(problemsOf(() => parseImportLine(line({ kind: 'consent', record }), 9))).toEqual([
      { path: '/record/period/end', message: 'line 9: must not be before start' },
      { path: '/record/revocation', message: 'line 9: is required when status is revoked' },
    ]);
  });

  test('the record is checked against the schema of its own kind', () => {
    const problems = problemsOf(() => parseImportLine(line({ kind: 'note', record: sessionExample }), 1));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/record/sessionId', '/record/therapist']));
  });
});
