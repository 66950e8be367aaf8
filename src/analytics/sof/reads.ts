/**
 * Which top-level elements of a resource a compiled view can read, so that a run over the store can
 * drop the others before de-identification and evaluation (a view of 14 columns over Encounters never
 * reads `meta` or `identifier`, yet de-identifying them cost a third of the walk and one HMAC each).
 *
 * The answer must never be too small: a dropped element the view reads would change its rows. So the
 * analysis is deliberately coarse and says "cannot tell" (undefined: keep everything) for anything it
 * does not fully understand. Every member name anywhere in the view counts, at any depth (a nested
 * `coding.code` keeps top-level elements called `coding` or `code` too: harmless). What could reach an
 * element without naming it makes the view unanalysable: a function outside the list below
 * (`children()`, `descendants()`, `resolve()`...), or the resource itself used as a value (`$this`,
 * `%resource`, `%rootResource` or a resource type name not followed by a member name).
 */
import { DotAtom, FunctionAtom, isResourceType, SymbolAtom, type Atom } from '@medplum/core';
import type { CompiledSelect, CompiledView } from './compile.js';

/**
 * Functions that read nothing but their input and their arguments (which are analysed too). A
 * function not listed makes the view unanalysable, so the list can only err on the side of keeping.
 */
const NAMED_ONLY_FUNCTIONS = new Set([
  'where', 'select', 'exists', 'empty', 'all', 'allTrue', 'anyTrue', 'allFalse', 'anyFalse', 'count', 'distinct',
  'isDistinct', 'first', 'last', 'tail', 'skip', 'take', 'single', 'not', 'iif', 'hasValue', 'join', 'split',
  'substring', 'startsWith', 'endsWith', 'contains', 'indexOf', 'lower', 'upper', 'replace', 'matches',
  'length', 'toString', 'toInteger', 'toDecimal', 'toBoolean', 'toDate', 'toDateTime', 'toQuantity',
  'convertsToInteger', 'convertsToDecimal', 'convertsToString', 'convertsToBoolean', 'abs', 'ceiling', 'floor',
  'round', 'truncate', 'union', 'combine', 'intersect', 'exclude', 'subsetOf', 'supersetOf',
  'getResourceKey', 'getReferenceKey', 'lowBoundary', 'highBoundary', 'duration', 'difference', 'extension',
  'ofType', 'is', 'as',
]);

/** Functions whose arguments are type names, not paths. */
const TYPE_ARGUMENT_FUNCTIONS = new Set(['ofType', 'is', 'as']);

/** Variables that hold the resource itself. */
const RESOURCE_VARIABLES = new Set(['$this', '%resource', '%rootResource', '%context']);

/**
 * The top-level element names the view may read (besides `resourceType` and `id`, always kept), or
 * undefined when that cannot be told and every element must be kept.
 */
export function viewReads(view: CompiledView): ReadonlySet<string> | undefined {
  const names = new Set<string>(['id']);
  const constants = new Set(Object.keys(view.constants));
  const atoms: Atom[] = [...view.where];
  collectSelect(view.root, atoms);
  for (const atom of atoms) {
    if (!collect(atom, names, constants)) {
      return undefined;
    }
  }
  return names;
}

function collectSelect(s: CompiledSelect, out: Atom[]): void {
  if (s.iteration) {
    out.push(...(s.iteration.kind === 'repeat' ? s.iteration.paths : [s.iteration.path]));
  }
  for (const c of s.columns) {
    out.push(c.path);
  }
  for (const sub of [...s.selects, ...(s.unionAll ?? [])]) {
    collectSelect(sub, out);
  }
}

/** Adds the member names of an expression; false when it may read an element without naming it. */
function collect(atom: Atom, names: Set<string>, constants: ReadonlySet<string>): boolean {
  if (atom instanceof DotAtom && atom.right instanceof SymbolAtom && atom.left instanceof SymbolAtom && isResourceValued(atom.left.name)) {
    // `%resource.date`, `Encounter.subject`: the resource, then a named member of it.
    names.add(atom.right.name);
    return true;
  }
  if (atom instanceof SymbolAtom) {
    const name = atom.name;
    if (isResourceValued(name)) {
      return false; // the whole resource as a value
    }
    if (name.startsWith('%')) {
      return constants.has(name) || name === '%rowIndex';
    }
    if (name.startsWith('$')) {
      return name === '$index' || name === '$total';
    }
    names.add(name);
    return true;
  }
  const fn = functionName(atom);
  if (fn !== undefined) {
    if (!NAMED_ONLY_FUNCTIONS.has(fn)) {
      return false;
    }
    if (fn === 'extension') {
      names.add('extension');
    }
    if (fn === 'getReferenceKey') {
      return true; // its argument names the type of resource referred to, read nowhere
    }
    if (TYPE_ARGUMENT_FUNCTIONS.has(fn)) {
      // A type name: a resource type here (`ofType(Encounter)`) could select the resource itself.
      return (atom as unknown as { args: Atom[] }).args.every((a) => !(a instanceof SymbolAtom && isResourceValued(a.name)));
    }
  }
  for (const value of Object.values(atom)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      if (isAtom(child) && !collect(child, names, constants)) {
        return false;
      }
    }
  }
  return true;
}

function isResourceValued(name: string): boolean {
  return RESOURCE_VARIABLES.has(name) || name === 'Resource' || name === 'DomainResource' || isResourceType(name);
}

/** The name of a function call atom (medplum's or one of ours), or undefined. */
function functionName(atom: Atom): string | undefined {
  if (atom instanceof FunctionAtom) {
    return atom.name;
  }
  const a = atom as unknown as { name?: unknown; args?: unknown };
  return typeof a.name === 'string' && Array.isArray(a.args) ? a.name : undefined;
}

function isAtom(v: unknown): v is Atom {
  return typeof v === 'object' && v !== null && typeof (v as Atom).eval === 'function';
}

/**
 * The top-level elements a run over the store must keep: those the view may read and, when the run is
 * de-identified, those the de-identifier reads to de-identify them (its `reads`). Undefined: keep
 * every element (the view cannot be analysed, or the de-identifier does not say what it reads).
 * @param deidentifier - The de-identification applied before the view, if any.
 */
export function elementsToKeep(view: CompiledView, deidentifier?: { (r: never): unknown; readonly reads?: ReadonlySet<string> }): ReadonlySet<string> | undefined {
  const reads = viewReads(view);
  if (!reads || (deidentifier && !deidentifier.reads)) {
    return undefined;
  }
  return deidentifier?.reads ? new Set([...reads, ...deidentifier.reads]) : reads;
}

/**
 * A shallow copy of the resource with only the top-level elements whose names are in `keep` (a choice
 * element `value` keeps `valueString`; a primitive's extension `_status` goes with `status`),
 * `resourceType` and `id`. A copy rather than `delete`, which would turn the object into a slow
 * dictionary for every later property access.
 */
export function keepElements<T extends object>(resource: T, keep: ReadonlySet<string>): T {
  const r = resource as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in r) {
    if (key === 'resourceType' || key === 'id' || kept(key.charCodeAt(0) === 95 ? key.slice(1) : key, keep)) {
      out[key] = r[key];
    }
  }
  return out as T;
}

function kept(key: string, keep: ReadonlySet<string>): boolean {
  if (keep.has(key)) {
    return true;
  }
  // A choice element's key is its name and a type (deceasedBoolean): keep it when its name is read.
  for (let i = key.length - 1; i > 0; i--) {
    if (key.charCodeAt(i) >= 65 && key.charCodeAt(i) <= 90 && keep.has(key.slice(0, i))) {
      return true;
    }
  }
  return false;
}
