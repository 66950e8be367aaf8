import { validateRecord } from '../../src/inbound/validate.js';
import { consentExample, consentExampleWithForm, copy, pathsOf, problemsOf } from './helpers.js';

const valid = (body: unknown) => () => validateRecord('consent', body);

describe('consent', () => {
  test('the contract example is valid once its "<base64>" placeholder is real base64', () => {
    expect(validateRecord('consent', copy(consentExampleWithForm))).toEqual(consentExampleWithForm);
  });

  test('the verbatim example fails only on the placeholder form data', () => {
    expect(problemsOf(valid(copy(consentExample)))).toEqual([
      { path: '/form/data', message: "must be base64 (letters, digits, '+' and '/', '=' padding, no line breaks)" },
    ]);
  });

  test('a client-signed consent without optional fields is valid', () => {
    expect(() =>
      validateRecord('consent', { id: 'c-2', client: { mrn: 'MRN-1' }, status: 'draft', recipients: ['p-1'] })
    ).not.toThrow();
  });

  test('missing required fields are named', () => {
    expect(pathsOf(valid({ id: 'c-2' }))).toEqual(['/client', '/recipients', '/status']);
  });

  test('an unknown field is refused', () => {
    expect(pathsOf(valid({ ...copy(consentExampleWithForm), witness: 'p-3' }))).toEqual(['/witness']);
  });

  test('wrong enums list the allowed values', () => {
    const body = { ...copy(consentExampleWithForm), status: 'expired', actions: ['disclose', 'sell'], legalBasis: 'gdpr' };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/status', message: 'must be one of: draft, active, revoked, refused, entered-in-error' },
      { path: '/actions/1', message: 'must be one of: disclose, collect, access, use, correct' },
      { path: '/legalBasis', message: 'must be one of: hipaa-authorization, 42-cfr-part-2, state-law' },
    ]);
  });

  test('psychotherapy notes are not a data class anyone can consent to here', () => {
    expect(pathsOf(valid({ ...copy(consentExampleWithForm), dataClasses: ['psychotherapy-note'] }))).toEqual(['/dataClasses/0']);
  });

  test('duplicates and empty lists are refused', () => {
    expect(problemsOf(valid({ ...copy(consentExampleWithForm), recipients: ['p-1', 'p-2', 'p-1'] }))).toEqual([
      { path: '/recipients/2', message: 'repeats item 0 (duplicates are not allowed)' },
    ]);
    expect(problemsOf(valid({ ...copy(consentExampleWithForm), recipients: [] }))).toEqual([
      { path: '/recipients', message: 'must have at least 1 item' },
    ]);
  });

  test('a revoked consent needs a revocation', () => {
    expect(problemsOf(valid({ ...copy(consentExampleWithForm), status: 'revoked' }))).toEqual([
      { path: '/revocation', message: 'is required when status is revoked' },
    ]);
    const revoked = { ...copy(consentExampleWithForm), status: 'revoked', revocation: { at: '2026-03-01T09:00:00Z', reason: 'Client asked' } };
    expect(() => validateRecord('consent', revoked)).not.toThrow();
  });

  test('a revocation on a consent that is not revoked is refused', () => {
    const body = { ...copy(consentExampleWithForm), revocation: { at: '2026-03-01T09:00:00Z' } };
    expect(problemsOf(valid(body))).toEqual([{ path: '/revocation', message: 'must be absent or null unless status is revoked' }]);
  });

  test('dates: period must be calendar dates in order; signedAt and revocation.at need an offset', () => {
    const body = {
      ...copy(consentExampleWithForm),
      status: 'revoked',
      period: { start: '2026-01-10', end: '2026-01-09' },
      signedAt: '2026-01-10T15:00:00',
      revocation: { at: '2026-03-01 09:00:00Z' },
    };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/signedAt', message: 'must be a date and time with seconds and a time-zone offset, like 2026-02-01T16:00:00-05:00' },
      { path: '/revocation/at', message: 'must be a date and time with seconds and a time-zone offset, like 2026-02-01T16:00:00-05:00' },
      { path: '/period/end', message: 'must not be before start' },
    ]);
    expect(pathsOf(valid({ ...copy(consentExampleWithForm), period: { start: '10/01/2026' } }))).toEqual(['/period/start']);
  });

  test('nullable fields accept null', () => {
    const body = { ...copy(consentExampleWithForm), period: null, signedAt: null, signedBy: null, form: null, revocation: null };
    expect(() => validateRecord('consent', body)).not.toThrow();
  });

  test('the form is limited to 10 MiB of base64 and to document types', () => {
    const big = 'A'.repeat(13_981_020);
    const body = { ...copy(consentExampleWithForm), form: { contentType: 'text/html', data: big } };
    expect(problemsOf(valid(body))).toEqual([
      { path: '/form/contentType', message: 'must be one of: application/pdf, image/png, image/jpeg, image/tiff' },
      { path: '/form/data', message: 'must be at most 13981016 characters' },
    ]);
    const largest = { ...copy(consentExampleWithForm), form: { contentType: 'application/pdf', data: 'A'.repeat(13_981_016) } };
    expect(() => validateRecord('consent', largest)).not.toThrow();
  });

  test('several problems at once are all reported with their paths', () => {
    const body = {
      id: 'c-1',
      client: { mrn: 'MRN-1' },
      status: 'revoked',
      recipients: ['p 1'],
      purposes: ['marketing'],
      excludedSensitivities: ['politics'],
      signedBy: {},
      color: 'blue',
    };
    expect(pathsOf(valid(body))).toEqual(
      ['/recipients/0', '/purposes/0', '/excludedSensitivities/0', '/signedBy/participantId', '/color', '/revocation'].sort()
    );
  });
});
