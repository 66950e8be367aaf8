/**
 * FHIRPath inside templates: finding the `{{ }}` expressions of a string, evaluating an expression with
 * the mapping's variables, and naming the input path a value came from (for problems).
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue, type FhirPathAtom, type TypedValue } from '@medplum/core';

const WHOLE = /^\{\{((?:(?!\}\}).)*)\}\}$/s;
const PART = /\{\{((?:(?!\}\}).)*)\}\}/gs;

/** The expression when the whole string is one `{{ expr }}`, else undefined. */
export function wholeExpression(text: string): string | undefined {
  const m = WHOLE.exec(text.trim());
  return m && !m[1].includes('{{') ? m[1].trim() : undefined;
}

/** Every `{{ expr }}` of a string, in order. */
export function embeddedExpressions(text: string): string[] {
  return [...text.matchAll(PART)].map((m) => m[1].trim());
}

/** Replaces each `{{ expr }}` of a string with fn(expr). */
export function replaceExpressions(text: string, fn: (expr: string) => string): string {
  return text.replace(PART, (_m, expr: string) => fn(expr.trim()));
}

/**
 * medplum's FHIRPath variables hold one value each, and an undefined one is an error. An absent
 * optional value (no session in the context, an empty let binding) is bound to this sentinel instead:
 * FHIRPath sees an empty object (`.exists()` is false, navigation yields nothing) and the engine drops
 * it from results.
 */
const EMPTY_VALUE: Readonly<Record<string, never>> = Object.freeze({});
export const EMPTY: TypedValue = Object.freeze({ type: 'BackboneElement', value: EMPTY_VALUE });

/** Variables in scope: FHIRPath values (by `%name`) and, when known, the input JSON pointer of each. */
export interface Scope {
  vars: Readonly<Record<string, TypedValue>>;
  paths: Readonly<Record<string, string | undefined>>;
}

/** A new scope with `%name` bound to value (EMPTY when undefined). */
export function bind(scope: Scope, name: string, value: unknown, path?: string): Scope {
  const key = `%${name}`;
  return {
    vars: { ...scope.vars, [key]: value === undefined ? EMPTY : toTypedValue(value) },
    paths: { ...scope.paths, [key]: path },
  };
}

/** Parses an expression, reusing the atoms parsed at load. */
export function atomFor(expressions: ReadonlyMap<string, FhirPathAtom>, expr: string): FhirPathAtom {
  return expressions.get(expr) ?? parseFhirPath(expr);
}

/** Evaluates an expression against the focus; sentinel and null values are dropped. */
export function evaluateExpression(atom: FhirPathAtom, focus: TypedValue[], scope: Scope): TypedValue[] {
  return evalFhirPathTyped(atom, focus, { ...scope.vars }).filter(
    (tv) => tv.value !== EMPTY_VALUE && tv.value !== undefined && tv.value !== null
  );
}

const SIMPLE = /^(%[A-Za-z][A-Za-z0-9]*|[A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * The input JSON pointer of the index-th value of a simple path expression (`purposes`,
 * `%item.participantId`), or undefined when the expression is not a plain path into the input.
 * @param root - The input record.
 */
export function inputPathOf(expr: string, scope: Scope, root: unknown, index: number): string | undefined {
  if (!SIMPLE.test(expr)) {
    return undefined;
  }
  const [head, ...rest] = expr.split('.');
  let base: string | undefined = '';
  let node: unknown = root;
  let names = [head, ...rest];
  if (head.startsWith('%')) {
    base = scope.paths[head];
    node = base === undefined ? undefined : at(root, base);
    names = rest;
  }
  if (base === undefined) {
    return undefined;
  }
  for (const name of names) {
    if (Array.isArray(node) || !node || typeof node !== 'object') {
      // A path through a list (telecom.value) names several places: the list is the best we can say.
      return base;
    }
    node = (node as Record<string, unknown>)[name];
    base = `${base}/${name}`;
  }
  return Array.isArray(node) ? `${base}/${index}` : base;
}

function at(root: unknown, pointer: string): unknown {
  let node = root;
  for (const seg of pointer.split('/').slice(1)) {
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return node;
}
