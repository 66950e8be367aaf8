/**
 * FHIRPath lowBoundary() / highBoundary() without a precision argument (FHIRPath 3.0, required by
 * SQL-on-FHIR v2 for decimal, date, dateTime, instant and time): the least and greatest value the
 * input could stand for, given its precision.
 * See: https://build.fhir.org/ig/HL7/FHIRPath/#lowboundaryprecision-integer-decimal--date--datetime--time
 */
import type { TypedValue } from '@medplum/core';

type Side = 'low' | 'high';

/** The low boundary of one value, or none for a type without one. */
export function lowBoundary(v: TypedValue): TypedValue[] {
  return boundary(v, 'low');
}

/** The high boundary of one value, or none for a type without one. */
export function highBoundary(v: TypedValue): TypedValue[] {
  return boundary(v, 'high');
}

function boundary(v: TypedValue, side: Side): TypedValue[] {
  const value: unknown = v.value?.valueOf();
  switch (v.type) {
    case 'decimal':
    case 'integer':
      return typeof value === 'number' ? [{ type: 'decimal', value: decimalBoundary(value, side, v.type) }] : [];
    case 'Quantity': {
      const q = v.value as { value?: number };
      return typeof q?.value === 'number' ? [{ type: 'Quantity', value: { ...q, value: decimalBoundary(q.value, side, 'decimal') } }] : [];
    }
    case 'date':
      return typeof value === 'string' ? optional('date', dateBoundary(value, side)) : [];
    case 'dateTime':
    case 'instant':
      return typeof value === 'string' ? optional('dateTime', dateTimeBoundary(value, side)) : [];
    case 'time':
      return typeof value === 'string' ? optional('time', timeBoundary(value, side)) : [];
    default:
      return [];
  }
}

function optional(type: string, value: string | undefined): TypedValue[] {
  return value === undefined ? [] : [{ type, value }];
}

/**
 * Half a unit of the last significant decimal place below or above the value. JSON parsing drops a
 * decimal's trailing zeros (1.0 arrives as 1), so a decimal that looks whole is taken to have one
 * decimal place (1.0 -> 0.95 / 1.05, as the official suite expects); a FHIR integer has none (1 -> 0.5 / 1.5).
 */
function decimalBoundary(n: number, side: Side, type: string): number {
  const text = String(n);
  const decimals = text.includes('e') ? 8 : (text.split('.')[1]?.length ?? 0);
  const places = type === 'integer' ? decimals : Math.max(decimals, 1);
  const half = 0.5 * 10 ** -places;
  return Number((side === 'low' ? n - half : n + half).toFixed(places + 1));
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const TIME = /^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/;
const DATE_TIME = /^(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:T([0-9:.]+)?(Z|[+-]\d{2}:\d{2})?)?$/;

function dateBoundary(text: string, side: Side): string | undefined {
  const m = DATE.exec(text);
  if (!m) {
    return undefined;
  }
  const year = m[1];
  const month = m[2] ?? (side === 'low' ? '01' : '12');
  const day = m[3] ?? (side === 'low' ? '01' : String(daysInMonth(Number(year), Number(month))).padStart(2, '0'));
  return `${year}-${month}-${day}`;
}

function timeBoundary(text: string, side: Side): string | undefined {
  const m = TIME.exec(text);
  if (!m) {
    return undefined;
  }
  const fill = side === 'low' ? { mm: '00', ss: '00', ms: '000' } : { mm: '59', ss: '59', ms: '999' };
  const ms = m[4] !== undefined ? m[4].padEnd(3, side === 'low' ? '0' : '9').slice(0, 3) : fill.ms;
  return `${m[1]}:${m[2] ?? fill.mm}:${m[3] ?? fill.ss}.${ms}`;
}

/** An unknown offset widens the range: +14:00 is the earliest zone, -12:00 the latest. */
function dateTimeBoundary(text: string, side: Side): string | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) {
    return undefined;
  }
  const date = dateBoundary(m[1], side);
  const time = m[2] === undefined ? (side === 'low' ? '00:00:00.000' : '23:59:59.999') : timeBoundary(m[2], side);
  if (!date || !time) {
    return undefined;
  }
  const zone = m[3] ?? (side === 'low' ? '+14:00' : '-12:00');
  return `${date}T${time}${zone}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
