/**
 * Date arithmetic on FHIR date, dateTime and instant strings, done on the calendar date as written (the
 * local date of the event), never through a time-zone conversion that could move it to another day.
 */

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

interface Parsed {
  year: number;
  month?: number;
  day?: number;
  zone?: string;
}

function parse(value: string): Parsed | undefined {
  const m = DATE.exec(value);
  if (!m) {
    return undefined;
  }
  return { year: Number(m[1]), month: m[2] ? Number(m[2]) : undefined, day: m[3] ? Number(m[3]) : undefined, zone: m[4] };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** An instant must carry a time and a zone: the start of the day (or period) keeps the value valid FHIR. */
function asType(date: string, type: string, zone?: string): string {
  return type === 'instant' ? `${date}T00:00:00${zone ?? 'Z'}` : date;
}

/**
 * Shifts a date by whole days. The time of day is dropped (kept as midnight for an instant), as
 * Microsoft's tool does: a precise time adds nothing to analyses by day and helps re-identification.
 * A value without a day (`2026`, `2026-02`) cannot be shifted and keeps only its year.
 * @returns The shifted value, or undefined when the value is not a FHIR date.
 */
export function shiftDate(value: string, type: string, days: number): string | undefined {
  const p = parse(value);
  if (!p) {
    return undefined;
  }
  if (p.month === undefined || p.day === undefined) {
    return type === 'instant' ? asType(`${pad(p.year, 4)}-01-01`, type, p.zone) : pad(p.year, 4);
  }
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + days));
  return asType(`${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`, type, p.zone);
}

/**
 * Keeps only the year, or the year and month.
 * @returns The generalized value, or undefined when the value is not a FHIR date.
 */
export function generalizeDate(value: string, type: string, to: 'year' | 'month'): string | undefined {
  const p = parse(value);
  if (!p) {
    return undefined;
  }
  const year = pad(p.year, 4);
  if (to === 'year' || p.month === undefined) {
    return type === 'instant' ? asType(`${year}-01-01`, type, p.zone) : year;
  }
  return type === 'instant' ? asType(`${year}-${pad(p.month)}-01`, type, p.zone) : `${year}-${pad(p.month)}`;
}

/**
 * Whether the date lies more than `years` full years before `now`. A partial date counts from its
 * earliest possible day, so an uncertain case counts as old (HIPAA: ages over 89 are identifying).
 */
export function olderThan(value: string, years: number, now: Date): boolean {
  const p = parse(value);
  if (!p) {
    return true;
  }
  const month = p.month ?? 1;
  const day = p.day ?? 1;
  let age = now.getUTCFullYear() - p.year;
  if (now.getUTCMonth() + 1 < month || (now.getUTCMonth() + 1 === month && now.getUTCDate() < day)) {
    age -= 1;
  }
  return age > years;
}
