/**
 * Applies a rule's method to one primitive value. A method that does not fit the value's type (dateShift
 * on a string, cryptoHash on a boolean) removes the value: a misfit rule must fail closed, not leak.
 */
import { generalizeDate, olderThan, shiftDate } from './dates.js';
import type { Pseudonymizer } from './pseudonyms.js';
import type { DeidRule } from './types.js';

/** Marks a value to be left out. */
export const REMOVED = Symbol('removed');

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);
const NUMBER_TYPES = new Set(['integer', 'decimal', 'positiveInt', 'unsignedInt', 'integer64']);
/** Types whose values may be literal references or `system|value` tokens (hashed reference-aware). */
const URI_TYPES = new Set(['uri', 'url', 'canonical']);

/** What applying a method to a primitive needs besides the value. */
export interface PrimitiveContext {
  pseudonyms: Pseudonymizer;
  /** The resource's date-shift offset in days (computed on first use). */
  offsetDays: () => number;
  now: () => Date;
}

/**
 * The new value of a primitive under a rule.
 * @param rule - The governing rule, or undefined (no rule: the value stays).
 * @param type - The value's FHIR type.
 * @param isReference - Whether the value is a `Reference.reference`.
 */
export function applyToPrimitive(rule: DeidRule | undefined, value: unknown, type: string, isReference: boolean, ctx: PrimitiveContext): unknown {
  if (!rule || rule.method === 'keep') {
    return value;
  }
  switch (rule.method) {
    case 'redact':
      return REMOVED;
    case 'substitute':
      return structuredClone(rule.replaceWith);
    case 'cryptoHash':
      if (typeof value !== 'string') {
        return REMOVED;
      }
      return isReference || URI_TYPES.has(type) ? ctx.pseudonyms.reference(value) : ctx.pseudonyms.hash(value);
    case 'dateShift': {
      if (typeof value !== 'string' || !DATE_TYPES.has(type) || tooOld(rule, value, ctx)) {
        return REMOVED;
      }
      return shiftDate(value, type, ctx.offsetDays()) ?? REMOVED;
    }
    case 'generalize':
      return generalize(rule, value, type, ctx);
  }
}

function generalize(rule: DeidRule, value: unknown, type: string, ctx: PrimitiveContext): unknown {
  if (typeof value === 'string' && DATE_TYPES.has(type) && rule.to) {
    return tooOld(rule, value, ctx) ? REMOVED : (generalizeDate(value, type, rule.to) ?? REMOVED);
  }
  if (typeof value === 'number' && NUMBER_TYPES.has(type) && rule.ranges) {
    let bound: number | undefined;
    for (const r of rule.ranges) {
      if (value >= r) {
        bound = r;
      }
    }
    return bound ?? REMOVED;
  }
  return REMOVED;
}

function tooOld(rule: DeidRule, value: string, ctx: PrimitiveContext): boolean {
  return rule.redactAgeOver !== undefined && olderThan(value, rule.redactAgeOver, ctx.now());
}
