import { validateRecord } from '../../src/inbound/validate.js';
import { copy, participantExample, pathsOf, problemsOf } from './helpers.js';

const valid = (body: unknown) => () => validateRecord('participant', body);

describe('participant', () => {
  test('the contract example is valid and comes back unchanged', () => {
    expect(validateRecord('participant', copy(participantExample))).toEqual(participantExample);
  });

  test('a minimal participant (id, client, relationship) is valid', () => {
    expect(() => validateRecord('participant', { id: 'p.1_a-B', client: { mrn: 'MRN-1' }, relationship: 'other' })).not.toThrow();
  });

  test('missing required fields are named by their own path', () => {
    expect(pathsOf(valid({ client: {} }))).toEqual(['/client/mrn', '/id', '/relationship']);
    expect(problemsOf(valid({ client: {} }))).toContainEqual({ path: '/client/mrn', message: 'is required' });
  });

  test('an unknown field is named, with the allowed fields', () => {
    const body = { ...copy(participantExample), nickname: 'Mari' };
    const [problem] = problemsOf(valid(body));
    expect(problem.path).toBe('/nickname');
    expect(problem.message).toMatch(/^is not a field of the contract \(allowed here: id, client, name,/);
  });

  test('unknown fields are refused in nested objects too', () => {
    const body = copy(participantExample) as any;
    body.client.dob = '2019-01-01';
    body.telecom[0].rank = 1;
    body.involvement.note = 'x';
    expect(pathsOf(valid(body))).toEqual(['/client/dob', '/involvement/note', '/telecom/0/rank']);
  });

  test('a wrong relationship lists the allowed values', () => {
    const [problem] = problemsOf(valid({ ...copy(participantExample), relationship: 'aunt' }));
    expect(problem.path).toBe('/relationship');
    expect(problem.message).toMatch(/^must be one of: mother, father, parent, .*, other-healthcare-provider, other$/);
  });

  test('a bad id pattern and a bad MRN are refused', () => {
    const body = { ...copy(participantExample), id: 'p 001', client: { mrn: 'MRN|1001' } };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/id', message: "must be an id of 1-64 characters, each a letter, digit, '.', '_' or '-'" },
      { path: '/client/mrn', message: "must be an MRN of 1-64 characters, each a letter, digit, '.', '_', ':', '/' or '-'" },
    ]);
    expect(pathsOf(valid({ ...copy(participantExample), id: 'x'.repeat(65) }))).toEqual(['/id']);
    expect(pathsOf(valid({ ...copy(participantExample), id: '' }))).toEqual(['/id']);
  });

  test('involvement dates must be calendar dates, and end not before start', () => {
    expect(problemsOf(valid({ ...copy(participantExample), involvement: { start: '2026-02-30', end: null } }))).toEqual([
      { path: '/involvement/start', message: 'must be a calendar date, like 2026-01-10' },
    ]);
    expect(problemsOf(valid({ ...copy(participantExample), involvement: { start: '2026-03-01', end: '2026-02-28' } }))).toEqual([
      { path: '/involvement/end', message: 'must not be before start' },
    ]);
    expect(() => validateRecord('participant', { ...copy(participantExample), involvement: { start: '2026-03-01', end: '2026-03-01' } })).not.toThrow();
    expect(() => validateRecord('participant', { ...copy(participantExample), involvement: null })).not.toThrow();
  });

  test('npi: only on clinician relationships, 10 digits, right check digit', () => {
    const psychiatrist = { id: 'p-9', client: { mrn: 'MRN-1' }, relationship: 'psychiatrist', npi: '1234567893' };
    expect(() => validateRecord('participant', psychiatrist)).not.toThrow();
    expect(() => validateRecord('participant', { ...psychiatrist, npi: null })).not.toThrow();
    expect(problemsOf(valid({ ...psychiatrist, npi: '1234567890' }))).toEqual([
      { path: '/npi', message: 'is not a valid NPI: the check digit (the last digit) does not match' },
    ]);
    expect(problemsOf(valid({ ...psychiatrist, npi: '123456789' }))).toEqual([{ path: '/npi', message: 'must be a 10-digit NPI' }]);
    expect(problemsOf(valid({ ...psychiatrist, relationship: 'teacher' }))).toEqual([
      {
        path: '/npi',
        message: 'is only allowed when relationship is one of: psychiatrist, primary-care-physician, social-worker, other-healthcare-provider',
      },
    ]);
  });

  test('wrong types are named in plain words', () => {
    const body = { ...copy(participantExample), legalGuardian: 'yes', telecom: {}, language: 3, name: { given: 'Maria' } };
    expect(problemsOf(valid(body))).toEqual(
      expect.arrayContaining([
        { path: '/legalGuardian', message: 'must be true or false' },
        { path: '/telecom', message: 'must be an array' },
        { path: '/language', message: 'must be a string or null' },
        { path: '/name/given', message: 'must be an array' },
      ])
    );
  });

  test('several problems at once are all reported', () => {
    const body = {
      id: 'p/1',
      client: { mrn: 'MRN-1', extra: true },
      relationship: 'teacher',
      npi: '1234567890',
      telecom: [{ system: 'pigeon', value: '' }],
      involvement: { start: '2026-05-01', end: '2026-04-01' },
    };
    expect(pathsOf(valid(body))).toEqual(
      ['/id', '/client/extra', '/telecom/0/system', '/telecom/0/value', '/involvement/end', '/npi', '/npi'].sort()
    );
  });
});
