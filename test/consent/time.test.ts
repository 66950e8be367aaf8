/**
 * How consent dates are read: a date is a whole day in the practice's time zone (DST included), and
 * instants with any offset or fraction the contract allows are read exactly.
 */
import { dateIn, endOfDay, isValidTimeZone, parseInstant, startOfDay } from '../../src/consent/time.js';

const iso = (t: number): string => new Date(t).toISOString();

describe('consent dates in a time zone', () => {
  test.each([
    ['UTC', '2026-02-01', '2026-02-01T00:00:00.000Z', '2026-02-01T23:59:59.999Z'],
    ['America/New_York', '2026-02-01', '2026-02-01T05:00:00.000Z', '2026-02-02T04:59:59.999Z'],
    ['Asia/Tokyo', '2026-02-01', '2026-01-31T15:00:00.000Z', '2026-02-01T14:59:59.999Z'],
    // DST starts at 02:00 on 2026-03-08: the day has 23 hours and ends at 04:00 UTC.
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00.000Z', '2026-03-09T03:59:59.999Z'],
    // DST ends at 02:00 on 2026-11-01: the day has 25 hours.
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00.000Z', '2026-11-02T04:59:59.999Z'],
    ['Asia/Kolkata', '2026-02-01', '2026-01-31T18:30:00.000Z', '2026-02-01T18:29:59.999Z'],
  ])('%s %s runs from %s to %s', (zone, date, start, end) => {
    expect(iso(startOfDay(date, zone))).toBe(start);
    expect(iso(endOfDay(date, zone))).toBe(end);
  });

  test('the last day of a month and of a year roll over correctly', () => {
    expect(iso(endOfDay('2026-12-31', 'UTC'))).toBe('2026-12-31T23:59:59.999Z');
    expect(iso(endOfDay('2028-02-28', 'UTC'))).toBe('2028-02-28T23:59:59.999Z');
    expect(iso(startOfDay('2028-02-29', 'UTC'))).toBe('2028-02-29T00:00:00.000Z');
  });

  test.each([
    ['2026-02-01T22:30:00-05:00', 'UTC', '2026-02-02'],
    ['2026-02-01T22:30:00-05:00', 'America/New_York', '2026-02-01'],
    ['2026-02-01T20:00:00Z', 'Asia/Tokyo', '2026-02-02'],
    ['2026-02-01T00:30:00+01:00', 'UTC', '2026-01-31'],
  ])('%s is on the practice day of %s: %s', (instant, zone, date) => {
    expect(dateIn(parseInstant(instant), zone)).toBe(date);
  });

  test('instants: offsets, Z and fractions of up to nine digits', () => {
    expect(parseInstant('2026-02-01T16:00:00-05:00')).toBe(Date.parse('2026-02-01T21:00:00Z'));
    expect(parseInstant('2026-02-01T16:00:00.123456789+02:00')).toBe(Date.parse('2026-02-01T14:00:00.123Z'));
    expect(() => parseInstant('yesterday')).toThrow(RangeError);
  });

  test('zone names are checked', () => {
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
