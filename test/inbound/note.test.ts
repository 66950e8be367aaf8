import { validateRecord } from '../../src/inbound/validate.js';
import { copy, noteExample, pathsOf, problemsOf } from './helpers.js';

const valid = (body: unknown) => () => validateRecord('note', body);

describe('note', () => {
  test('the contract example is valid', () => {
    expect(validateRecord('note', copy(noteExample))).toEqual(noteExample);
  });

  test('an amending psychotherapy note with markdown is valid', () => {
    const body = { ...copy(noteExample), id: 'n-002', kind: 'psychotherapy-note', status: 'amended', amends: 'n-001', contentType: 'text/markdown; charset=utf-8' };
    expect(() => validateRecord('note', body)).not.toThrow();
  });

  test('missing required fields are named', () => {
    expect(pathsOf(valid({ id: 'n-1', author: {} }))).toEqual(
      ['/sessionId', '/author/npi', '/kind', '/status', '/contentType', '/text'].sort()
    );
  });

  test('an unknown field is refused', () => {
    expect(pathsOf(valid({ ...copy(noteExample), mood: 'calm' }))).toEqual(['/mood']);
  });

  test('wrong enums list the allowed values', () => {
    expect(problemsOf(valid({ ...copy(noteExample), kind: 'intake', status: 'draft', sensitivities: ['gossip'] }))).toEqual([
      { path: '/kind', message: 'must be one of: session-summary, progress-note, psychotherapy-note' },
      { path: '/status', message: 'must be one of: preliminary, final, amended, entered-in-error' },
      { path: '/sensitivities/0', message: 'must be one of: substance-use, domestic-violence, sexual-health, hiv, genetic' },
    ]);
  });

  test('text: not empty, at most 786,432 characters and bytes, of a text content type', () => {
    expect(problemsOf(valid({ ...copy(noteExample), text: '' }))).toEqual([{ path: '/text', message: 'must not be empty' }]);
    expect(() => validateRecord('note', { ...copy(noteExample), text: 'a'.repeat(786_432) })).not.toThrow();
    expect(problemsOf(valid({ ...copy(noteExample), text: 'a'.repeat(786_433) }))).toEqual([
      { path: '/text', message: 'must be at most 786432 characters' },
    ]);
    // Within the character limit but over the byte limit: 393,217 two-byte characters.
    expect(problemsOf(valid({ ...copy(noteExample), text: 'é'.repeat(393_217) }))).toEqual([
      { path: '/text', message: 'is 786434 bytes in UTF-8; at most 786432 bytes (768 KiB) can be sent inline to a FHIR server' },
    ]);
    expect(pathsOf(valid({ ...copy(noteExample), contentType: 'application/pdf' }))).toEqual(['/contentType']);
  });

  test('a note cannot amend itself', () => {
    expect(problemsOf(valid({ ...copy(noteExample), amends: 'n-001' }))).toEqual([
      { path: '/amends', message: 'must name another note, not this note itself' },
    ]);
  });

  test('the author NPI check digit and signedAt are checked', () => {
    expect(pathsOf(valid({ ...copy(noteExample), author: { npi: '1245319590' }, signedAt: 'yesterday' }))).toEqual([
      '/author/npi',
      '/signedAt',
    ]);
    expect(() => validateRecord('note', { ...copy(noteExample), author: { npi: '1245319599' }, signedAt: null })).not.toThrow();
  });

  test('several problems at once are all reported with their paths', () => {
    const body = { id: 'n 1', sessionId: 's-1', author: { npi: '12' }, kind: 'progress-note', status: 'final', contentType: 'text/plain', text: 'ok', amends: 'bad id!', extra: 1 };
    expect(pathsOf(valid(body))).toEqual(['/amends', '/author/npi', '/extra', '/id']);
  });
});
