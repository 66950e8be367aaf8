/**
 * Plain member paths (`subject.reference`) followed natively over JSON, for the cases the FHIRPath engine
 * is not needed: exact only for single values and plain (non-choice) elements; otherwise it says MANY and
 * the caller asks @medplum/core.
 */
import { DotAtom, SymbolAtom, type Atom } from '@medplum/core';

/** The value could not be decided natively (a repeating step, a choice element, a primitive mid-path). */
export const MANY = Symbol('many');

/** `a.b.c` as names; undefined for anything but plain member steps. */
export function memberPath(atom: Atom): string[] | undefined {
  if (atom instanceof SymbolAtom) {
    return [atom.name];
  }
  if (atom instanceof DotAtom && atom.right instanceof SymbolAtom) {
    const left = memberPath(atom.left);
    return left && [...left, atom.right.name];
  }
  return undefined;
}

/** The single value at `path`, undefined when absent, MANY when it cannot be decided here. */
export function follow(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const name of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      return current === undefined ? undefined : MANY;
    }
    const object = current as Record<string, unknown>;
    current = object[name];
    if (current === undefined && Object.keys(object).some((k) => k.length > name.length && k.startsWith(name) && /[A-Z]/.test(k[name.length]))) {
      return MANY; // a choice element (value -> valueString): FHIRPath resolves it, we do not
    }
    if (Array.isArray(current)) {
      if (current.length !== 1) {
        return current.length === 0 ? undefined : MANY;
      }
      current = current[0];
    }
  }
  return current;
}
