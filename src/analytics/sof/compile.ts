/**
 * Compiles a valid ViewDefinition into an evaluation plan: parsed FHIRPaths, typed constants, and the
 * output columns in order (columns, then nested selects, then the first unionAll branch, as
 * the specification's ValidateColumns orders them).
 */
import type { AtomContext, FhirPathAtom, TypedValue } from '@medplum/core';
import { OperationOutcomeError } from '../../outcomes.js';
import { viewInvalid } from '../outcomes.js';
import { constantValue } from './constants.js';
import type { OutputColumn, ViewColumn, ViewDefinition, ViewSelect } from './types.js';
import { validateView } from './validate.js';

export interface CompiledColumn {
  name: string;
  /** JSON pointer of the column in the view (for evaluation errors). */
  at: string;
  path: FhirPathAtom;
  collection: boolean;
}

/** How a select finds its foci. */
export type Iteration =
  | { kind: 'forEach' | 'forEachOrNull'; path: FhirPathAtom }
  | { kind: 'repeat'; paths: FhirPathAtom[] };

export interface CompiledSelect {
  iteration?: Iteration;
  columns: CompiledColumn[];
  selects: CompiledSelect[];
  unionAll?: CompiledSelect[];
}

/** A view ready to evaluate. */
export interface CompiledView {
  definition: ViewDefinition;
  /** The resource type the view runs over. */
  resource: string;
  /** The output columns, in order. */
  columns: OutputColumn[];
  /** `%name` -> value, for the view's constants. */
  constants: Record<string, TypedValue>;
  /** The evaluation scope holding the constants (the parent of every resource's scope). */
  scope: AtomContext;
  where: FhirPathAtom[];
  /** The view as the root selection structure (its selects, no columns, no iteration). */
  root: CompiledSelect;
}

/**
 * Validates and compiles a ViewDefinition.
 * @param view - The view as received (any JSON).
 * @returns The compiled view.
 * @throws OperationOutcomeError(viewInvalid) with every problem and its JSON pointer (HTTP 422).
 */
export function compileView(view: unknown): CompiledView {
  const check = validateView(view);
  if (check.problems.length > 0) {
    throw new OperationOutcomeError(viewInvalid(check.problems));
  }
  const def = view as ViewDefinition;
  const parse = (expr: string): FhirPathAtom => check.parsed.get(expr) as FhirPathAtom;
  const constants: Record<string, TypedValue> = {};
  for (const c of def.constant ?? []) {
    constants[`%${c.name}`] = constantValue(c as unknown as Record<string, unknown>);
  }
  const columns: OutputColumn[] = [];
  const root: CompiledSelect = { columns: [], selects: def.select.map((s, i) => compileSelect(s, `/select/${i}`, parse, columns, true)) };
  return {
    definition: def,
    resource: def.resource,
    columns,
    constants,
    scope: { variables: constants },
    where: (def.where ?? []).map((w) => parse(w.path)),
    root,
  };
}

function compileSelect(
  s: ViewSelect,
  at: string,
  parse: (e: string) => FhirPathAtom,
  out: OutputColumn[],
  collect: boolean
): CompiledSelect {
  const compiled: CompiledSelect = {
    iteration: iterationOf(s, parse),
    columns: (s.column ?? []).map((c, i) => {
      if (collect) {
        out.push(outputColumn(c));
      }
      return { name: c.name, at: `${at}/column/${i}`, path: parse(c.path), collection: c.collection === true };
    }),
    selects: (s.select ?? []).map((sub, i) => compileSelect(sub, `${at}/select/${i}`, parse, out, collect)),
  };
  if (s.unionAll) {
    // Every branch yields the same columns (validated): the first branch names them.
    compiled.unionAll = s.unionAll.map((u, i) => compileSelect(u, `${at}/unionAll/${i}`, parse, out, collect && i === 0));
  }
  return compiled;
}

function iterationOf(s: ViewSelect, parse: (e: string) => FhirPathAtom): Iteration | undefined {
  if (s.forEach !== undefined) {
    return { kind: 'forEach', path: parse(s.forEach) };
  }
  if (s.forEachOrNull !== undefined) {
    return { kind: 'forEachOrNull', path: parse(s.forEachOrNull) };
  }
  if (s.repeat !== undefined) {
    return { kind: 'repeat', paths: s.repeat.map(parse) };
  }
  return undefined;
}

function outputColumn(c: ViewColumn): OutputColumn {
  return {
    name: c.name,
    collection: c.collection === true,
    ...(c.type !== undefined ? { type: c.type } : {}),
    ...(c.description !== undefined ? { description: c.description } : {}),
  };
}
