/** The safety net against error texts quoting request values. */
import { inputValues, redactEchoes } from '../../../src/http/middleware/echo-guard.js';

const outcome = (text: string) => ({ resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'invalid' as const, details: { text }, diagnostics: text }] });

test('values of the body and query quoted in a message are replaced, whole words only', () => {
  const values = inputValues({ resourceType: 'Patient', name: [{ family: 'Marguerite' }], birthDate: 'cnry12ab34' }, { kind: 'note' });
  expect([...values].sort()).toEqual(['Marguerite', 'cnry12ab34', 'note']);
  const out = redactEchoes(outcome('Invalid date: cnry12ab34 for Marguerite; psychotherapy notes never leave; note: x'), values);
  expect(out.issue![0].details?.text).toBe('Invalid date: (value) for (value); psychotherapy notes never leave; (value): x');
  expect(out.issue![0].diagnostics).toBe(out.issue![0].details?.text);
});

test('short values and resource types are left alone', () => {
  const values = inputValues({ resourceType: 'Patient', gender: 'x', id: 'abc' }, {});
  expect(values).toEqual([]);
  expect(redactEchoes(outcome('Patient abc x'), values).issue![0].details?.text).toBe('Patient abc x');
});
