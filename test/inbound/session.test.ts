import { validateRecord } from '../../src/inbound/validate.js';
import { copy, pathsOf, problemsOf, sessionExample } from './helpers.js';

const valid = (body: unknown) => () => validateRecord('session', body);

describe('session', () => {
  test('the contract example is valid', () => {
    expect(validateRecord('session', copy(sessionExample))).toEqual(sessionExample);
  });

  test('consentIds, purposes, end, exception and clientPresent are optional', () => {
    const { consentIds: _c, purposes: _p, end: _e, exception: _x, clientPresent: _cp, ...minimal } = copy(sessionExample);
    expect(() => validateRecord('session', minimal)).not.toThrow();
  });

  test('an exception under law is accepted', () => {
    const body = { ...copy(sessionExample), exception: { basis: 'danger-to-self', reason: 'Stated plan; guardian informed' } };
    expect(() => validateRecord('session', body)).not.toThrow();
  });

  test('missing required fields are named', () => {
    expect(pathsOf(valid({ id: 's-1', client: { mrn: 'MRN-1' } }))).toEqual(
      ['/therapist', '/type', '/participants', '/modality', '/status', '/start'].sort()
    );
    expect(pathsOf(valid({ ...copy(sessionExample), therapist: {} }))).toEqual(['/therapist/npi']);
  });

  test('an unknown field is refused', () => {
    expect(pathsOf(valid({ ...copy(sessionExample), room: '3B' }))).toEqual(['/room']);
  });

  test('wrong enums list the allowed values', () => {
    const body = { ...copy(sessionExample), type: 'group', modality: 'chat', status: 'done', purposes: ['billing'] };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/type', message: 'must be one of: collateral, joint, family' },
      { path: '/modality', message: 'must be one of: in-person, video, phone, home-visit' },
      { path: '/status', message: 'must be one of: planned, completed, cancelled, entered-in-error' },
      {
        path: '/purposes/0',
        message:
          'must be one of: information-gathering, psychoeducation, care-coordination, treatment-planning, progress-monitoring, crisis-support',
      },
    ]);
    expect(problemsOf(valid({ ...copy(sessionExample), exception: { basis: 'curiosity', reason: 'x' } }))).toEqual([
      { path: '/exception/basis', message: 'must be one of: danger-to-self, danger-to-others, court-order, emergency' },
    ]);
  });

  test('start and end need seconds and an offset, and end must not be before start', () => {
    expect(pathsOf(valid({ ...copy(sessionExample), start: '2026-02-01T16:00-05:00', end: '2026-02-01' }))).toEqual(['/end', '/start']);
    expect(pathsOf(valid({ ...copy(sessionExample), start: '2026-02-31T16:00:00Z' }))).toEqual(['/start']);
    expect(problemsOf(valid({ ...copy(sessionExample), end: '2026-02-01T15:59:59-05:00' }))).toEqual([
      { path: '/end', message: 'must not be before start' },
    ]);
    // Offsets count: 21:30Z is 16:30-05:00, after the 16:00-05:00 start.
    expect(() => validateRecord('session', { ...copy(sessionExample), end: '2026-02-01T21:30:00Z' })).not.toThrow();
    expect(pathsOf(valid({ ...copy(sessionExample), end: '2026-02-01T20:30:00Z' }))).toEqual(['/end']);
    expect(() => validateRecord('session', { ...copy(sessionExample), end: null })).not.toThrow();
  });

  test('the therapist NPI check digit is checked', () => {
    expect(problemsOf(valid({ ...copy(sessionExample), therapist: { npi: '1234567894' } }))).toEqual([
      { path: '/therapist/npi', message: 'is not a valid NPI: the check digit (the last digit) does not match' },
    ]);
  });

  test('each participant is listed once', () => {
    const body = {
      ...copy(sessionExample),
      participants: [{ participantId: 'p-1' }, { participantId: 'p-2' }, { participantId: 'p-1' }],
    };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/participants/2/participantId', message: 'repeats participant 0 (each participant is listed once)' },
    ]);
    expect(pathsOf(valid({ ...copy(sessionExample), participants: [] }))).toEqual(['/participants']);
  });

  test('several problems at once are all reported with their paths', () => {
    const body = {
      ...copy(sessionExample),
      id: '',
      client: {},
      therapist: { npi: '1234567890' },
      clientPresent: 'no',
      participants: [{ participantId: 'p-1' }, { participantId: 'p-1' }, { id: 'p-2' }],
      end: '2026-02-01T15:00:00-05:00',
      consentIds: ['c-1', 'c-1'],
    };
    expect(pathsOf(valid(body))).toEqual(
      [
        '/id',
        '/client/mrn',
        '/therapist/npi',
        '/clientPresent',
        '/participants/1/participantId',
        '/participants/2/participantId',
        '/participants/2/id',
        '/end',
        '/consentIds/1',
      ].sort()
    );
  });
});
