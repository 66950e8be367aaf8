/**
 * NPI check digit. The NPI's 10th digit is a Luhn check digit computed over the card-issuer prefix
 * 80840 followed by the first nine digits.
 * See: https://www.cms.gov/Regulations-and-Guidance/Administrative-Simplification/NationalProvIdentStand/Downloads/NPIcheckdigit.pdf
 */

/** The check digit for the first nine digits of an NPI (`'123456789'` gives 3). */
export function npiCheckDigit(firstNine: string): number {
  const digits = `80840${firstNine}`;
  let sum = 0;
  // Luhn: walking from the right of the payload (the check digit will sit to its right), double
  // every other digit starting with the rightmost one.
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `value` is ten digits whose last one is the right check digit. */
export function isValidNpi(value: unknown): boolean {
  return typeof value === 'string' && /^[0-9]{10}$/.test(value) && npiCheckDigit(value.slice(0, 9)) === Number(value[9]);
}
