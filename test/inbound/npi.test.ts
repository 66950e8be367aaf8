import { isValidNpi, npiCheckDigit } from '../../src/inbound/npi.js';

describe('NPI check digit', () => {
  test('matches the CMS worked example (123456789 -> 3)', () => {
    expect(npiCheckDigit('123456789')).toBe(3);
  });

  test.each(['1234567893', '1245319599', '1111111112', '1222222220'])('%s is valid', (npi) => {
    expect(isValidNpi(npi)).toBe(true);
  });

  test('every other last digit is invalid', () => {
    for (let d = 0; d <= 9; d++) {
      expect(isValidNpi(`123456789${d}`)).toBe(d === 3);
    }
  });

  test.each([['123456789'], ['12345678931'], ['123456789a'], [1234567893], [null], [undefined]])('%p is not an NPI', (value) => {
    expect(isValidNpi(value)).toBe(false);
  });
});
