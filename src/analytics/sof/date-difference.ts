/**
 * FHIRPath `duration(value, precision)` and `difference(value, precision)` (FHIRPath CI build,
 * section "Date and Time Interval Functions", STU; CQL's duration and difference): whole periods
 * between two dates or date-times, and period boundaries crossed. Views need them for intervals
 * such as "days from session to signature".
 * See: https://build.fhir.org/ig/HL7/FHIRPath/#date-and-time-interval-functions
 */

export type Precision = 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond';
export const PRECISIONS: readonly Precision[] = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond'];

/** A date or date-time as written: calendar fields in its own offset, plus the instant when it has a time. */
interface Parsed {
  /** How many of year, month, day, hour, minute, second, millisecond are given (1..7). */
  level: number;
  fields: [number, number, number, number, number, number, number];
  /** Milliseconds since the epoch (a missing offset or time counts as UTC midnight). */
  epoch: number;
}

const PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const MS: Record<string, number> = { week: 7 * 86_400_000, day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000, millisecond: 1 };
const LEVEL: Record<Precision, number> = { year: 1, month: 2, week: 3, day: 3, hour: 4, minute: 5, second: 6, millisecond: 6 };

function parse(text: string): Parsed | undefined {
  const m = PATTERN.exec(text);
  if (!m) {
    return undefined;
  }
  const parts = [m[1], m[2], m[3], m[4], m[5], m[6]];
  const level = parts.filter((p) => p !== undefined).length + (m[7] ? 1 : 0);
  const n = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s));
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const fields: Parsed['fields'] = [n(m[1], 0), n(m[2], 1), n(m[3], 1), n(m[4], 0), n(m[5], 0), n(m[6], 0), ms];
  const offset = !m[8] || m[8] === 'Z' ? 0 : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
  const epoch = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], ms) - offset * 60_000;
  return { level, fields, epoch };
}

/** Days since 1970-01-01 of a calendar date (its own offset ignored: the date as written). */
function dayNumber(p: Parsed): number {
  return Math.floor(Date.UTC(p.fields[0], p.fields[1] - 1, p.fields[2]) / 86_400_000);
}

/**
 * Whole periods from `from` to `to` (negative when `to` is earlier), or undefined when either value
 * is not a date/date-time or is less precise than `precision`.
 */
export function duration(from: string, to: string, precision: Precision): number | undefined {
  const a = parse(from);
  const b = parse(to);
  if (!a || !b || a.level < LEVEL[precision] || b.level < LEVEL[precision]) {
    return undefined;
  }
  if (precision === 'year' || precision === 'month') {
    const months = (b.fields[0] - a.fields[0]) * 12 + (b.fields[1] - a.fields[1]);
    // A month is whole once the day and time of `from` are reached again.
    const rest = (p: Parsed): string => p.fields.slice(2).map((f) => String(f).padStart(3, '0')).join('');
    const adjust = months > 0 && rest(b) < rest(a) ? -1 : months < 0 && rest(b) > rest(a) ? 1 : 0;
    const whole = months + adjust;
    return precision === 'year' ? Math.trunc(whole / 12) : whole;
  }
  return Math.trunc((b.epoch - a.epoch) / MS[precision]) + 0;
}

/**
 * Period boundaries crossed from `from` to `to`: calendar years, months, days (each date as written,
 * in its own offset), weeks starting on Sunday; hours and smaller on the instants. Undefined as for duration.
 */
export function difference(from: string, to: string, precision: Precision): number | undefined {
  const a = parse(from);
  const b = parse(to);
  if (!a || !b || a.level < LEVEL[precision] || b.level < LEVEL[precision]) {
    return undefined;
  }
  switch (precision) {
    case 'year':
      return b.fields[0] - a.fields[0];
    case 'month':
      return (b.fields[0] - a.fields[0]) * 12 + (b.fields[1] - a.fields[1]);
    case 'day':
      return dayNumber(b) - dayNumber(a);
    case 'week':
      // 1970-01-01 was a Thursday: +4 makes weeks start on Sunday.
      return Math.floor((dayNumber(b) + 4) / 7) - Math.floor((dayNumber(a) + 4) / 7);
    default:
      return Math.floor(b.epoch / MS[precision]) - Math.floor(a.epoch / MS[precision]);
  }
}
