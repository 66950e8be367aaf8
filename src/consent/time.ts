/**
 * Time rules of consent evaluation. Consent periods are calendar dates (YYYY-MM-DD, a FHIR `date`);
 * sessions, signatures and revocations are instants with an offset. A date names a whole day in the
 * practice's time zone: a period starts at 00:00 of its start date and runs to the end of its end date
 * (both inclusive), in that zone. Pure functions over Intl, no time-zone library.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the IANA zone name (e.g. `America/New_York`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of an instant in a zone. */
function wallClock(t: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts = formatter(timeZone).formatToParts(new Date(t));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/** How far the zone's wall clock is ahead of UTC at instant t, in ms. */
function offsetAt(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  const whole = t - (((t % 1000) + 1000) % 1000);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - whole;
}

function utcMidnight(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

/** The first instant (epoch ms) of a calendar date in a zone. */
export function startOfDay(date: string, timeZone: string): number {
  const local = utcMidnight(date);
  const first = local - offsetAt(local, timeZone);
  // Around a DST change the offset at the guess can differ from the offset at the answer: use the latter.
  const second = local - offsetAt(first, timeZone);
  return second;
}

/** The last millisecond of a calendar date in a zone (the next day's start minus 1 ms). */
export function endOfDay(date: string, timeZone: string): number {
  const next = new Date(utcMidnight(date) + DAY_MS).toISOString().slice(0, 10);
  return startOfDay(next, timeZone) - 1;
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function dateIn(t: number, timeZone: string): string {
  const w = wallClock(t, timeZone);
  return `${String(w.y).padStart(4, '0')}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

/**
 * Epoch ms of an instant with offset (`2026-02-01T16:00:00-05:00`). Fractions beyond milliseconds
 * (the contract allows up to nine digits) are cut, so Date.parse reads every allowed form the same way.
 */
export function parseInstant(text: string): number {
  const normalized = text.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(normalized);
  if (Number.isNaN(t)) {
    throw new RangeError(`not an instant: ${text}`);
  }
  return t;
}
