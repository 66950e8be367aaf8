/**
 * FHIRPath for ViewDefinitions: @medplum/core's parser and function table, plus the functions the
 * SQL-on-FHIR v2 specification requires that medplum 4.5 lacks (lowBoundary, highBoundary).
 *
 * We build our own parser from medplum's `initFhirPathParserBuilder()` and replace two parselets:
 * a call to one of our functions becomes our atom (every other call stays medplum's FunctionAtom),
 * and a symbol becomes FastSymbolAtom (medplum's member access with a per-type plan cache).
 * Everything else (operators, equality, medplum's ~90 functions) is medplum's.
 */
import {
  FhirPathAtom,
  FunctionAtom,
  initFhirPathParserBuilder,
  SymbolAtom,
  Tokenizer,
  type Atom,
  type AtomContext,
  type TypedValue,
} from '@medplum/core';
import { highBoundary, lowBoundary } from './boundary.js';
import { difference, duration, PRECISIONS, type Precision } from './date-difference.js';
import { FastSymbolAtom } from './fast-symbol.js';

/** A function of ours: same calling convention as medplum's table (arguments unevaluated). */
type ExtraFunction = (context: AtomContext, input: TypedValue[], ...args: Atom[]) => TypedValue[];

// A Map, not an object literal: `toString` and friends must not resolve to Object.prototype.
const EXTRA_FUNCTIONS = new Map<string, ExtraFunction>([
  ['lowBoundary', (_ctx, input) => input.flatMap((v) => lowBoundary(v))],
  ['highBoundary', (_ctx, input) => input.flatMap((v) => highBoundary(v))],
  // medplum's versions read only the first input and fail on an empty one; these map every input.
  ['getResourceKey', (_ctx, input) => input.flatMap(resourceKey)],
  ['getReferenceKey', (ctx, input, type) => input.flatMap((v) => referenceKey(v, typeName(ctx, type)))],
  ['duration', (ctx, input, value, precision) => interval(duration, ctx, input, value, precision)],
  ['difference', (ctx, input, value, precision) => interval(difference, ctx, input, value, precision)],
]);

const TEMPORAL = new Set(['date', 'dateTime', 'instant']);

/**
 * getResourceKey(): the resource's id, which getReferenceKey() gives back for a reference to it.
 * See: https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/StructureDefinition-ViewDefinition.html#getresourcekey--keytype
 */
function resourceKey(v: TypedValue): TypedValue[] {
  const id = (v.value as { id?: unknown; resourceType?: unknown } | undefined)?.id;
  return typeof id === 'string' && (v.value as { resourceType?: unknown }).resourceType ? [{ type: 'id', value: id }] : [];
}

// `Type/id`, relative or absolute, with an optional version: a literal reference getReferenceKey can follow.
const LITERAL_REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** getReferenceKey([type]): the id a Reference points to (of that type, when one is named); none for conditional or contained references. */
function referenceKey(v: TypedValue, type: string | undefined): TypedValue[] {
  const reference = (v.value as { reference?: unknown } | undefined)?.reference;
  const m = typeof reference === 'string' ? LITERAL_REFERENCE.exec(reference) : null;
  if (!m || (type && m[1] !== type)) {
    return [];
  }
  return [{ type: 'id', value: m[2] }];
}

/** A type-name argument: an identifier (Patient) or, leniently, a string. */
function typeName(context: AtomContext, atom: Atom | undefined): string | undefined {
  if (!atom) {
    return undefined;
  }
  if (atom instanceof SymbolAtom) {
    return atom.name;
  }
  const value = atom.eval(context, [])[0]?.value?.valueOf();
  return typeof value === 'string' ? value : undefined;
}

/**
 * duration()/difference(): the input and the value must each be one date or date-time; the value and
 * the precision are evaluated against the expression's root input, as medplum does for arguments
 * that are not per-item criteria.
 */
function interval(
  fn: (from: string, to: string, precision: Precision) => number | undefined,
  context: AtomContext,
  input: TypedValue[],
  valueAtom: Atom | undefined,
  precisionAtom: Atom | undefined
): TypedValue[] {
  if (!valueAtom || !precisionAtom) {
    throw new Error('duration() and difference() take a value and a precision');
  }
  const root = rootInput(context);
  const value = valueAtom.eval(context, root);
  const precision = precisionAtom.eval(context, root)[0]?.value?.valueOf();
  if (typeof precision !== 'string' || !PRECISIONS.includes(precision as Precision)) {
    throw new Error(`the precision must be one of ${PRECISIONS.join(', ')}`);
  }
  if (input.length > 1 || value.length > 1) {
    throw new Error('duration() and difference() need single values');
  }
  if (input.length === 0 || value.length === 0 || !TEMPORAL.has(input[0].type) || !TEMPORAL.has(value[0].type)) {
    return [];
  }
  const result = fn(String(input[0].value), String(value[0].value), precision as Precision);
  return result === undefined ? [] : [{ type: 'integer', value: result }];
}

/** The input the whole expression was evaluated on (the outermost `$this`). */
function rootInput(context: AtomContext): TypedValue[] {
  let root: TypedValue | undefined;
  for (let c: AtomContext | undefined = context; c; c = c.parent) {
    root = c.variables.$this ?? root;
  }
  return root ? [root] : [];
}

/** A call to one of EXTRA_FUNCTIONS. */
class ExtraFunctionAtom implements Atom {
  constructor(
    readonly name: string,
    readonly args: Atom[],
    private readonly impl: ExtraFunction
  ) {}

  eval(context: AtomContext, input: TypedValue[]): TypedValue[] {
    return this.impl(context, input, ...this.args);
  }

  toString(): string {
    return `${this.name}(${this.args.map((a) => a.toString()).join(', ')})`;
  }
}

// medplum's OperatorPrecedence.FunctionCall (parse.ts): binds tightest.
const FUNCTION_CALL_PRECEDENCE = 0;

const parserBuilder = initFhirPathParserBuilder()
  // Member access and variables: our cached-plan subclass of medplum's SymbolAtom (fast-symbol.ts).
  .registerPrefix('Symbol', { parse: (_, token) => new FastSymbolAtom(token.value) })
  .registerInfix('(', {
  precedence: FUNCTION_CALL_PRECEDENCE,
  parse(parser, left) {
    if (!(left instanceof SymbolAtom)) {
      throw new Error('Unexpected parentheses');
    }
    const args: Atom[] = [];
    while (!parser.match(')')) {
      if (!parser.hasMore()) {
        throw new Error(`Parse error: unclosed call of ${left.name}()`);
      }
      args.push(parser.consumeAndParse());
      parser.match(',');
    }
    const extra = EXTRA_FUNCTIONS.get(left.name);
    return extra ? new ExtraFunctionAtom(left.name, args, extra) : new FunctionAtom(left.name, args);
  },
});

// The FHIRPath keywords and multi-character operators, as medplum's fhirpath/tokenize.ts.
const KEYWORDS = ['true', 'false'];
const OPERATORS = ['!=', '!~', '<=', '>=', '{}', '->'];

/**
 * Parses a FHIRPath expression.
 * @param expression - The expression text.
 * @returns The parsed expression (evaluate with `.eval({ variables }, input)`).
 * @throws Error with a parse message when the expression is not FHIRPath.
 */
export function parseViewPath(expression: string): FhirPathAtom {
  const tokens = new Tokenizer(expression, KEYWORDS, OPERATORS).tokenize();
  const parser = parserBuilder.construct(tokens);
  const atom = parser.consumeAndParse();
  if (parser.hasMore()) {
    throw new Error(`Parse error: unexpected "${parser.peek()?.value ?? ''}"`);
  }
  return new ViewPathAtom(expression, atom, needsScope(atom));
}

/**
 * Whether an expression may read `$this` from its scope (functions such as join() read the root
 * input there); plain navigation and operators do not, and skip building a scope per evaluation.
 */
function needsScope(atom: Atom): boolean {
  for (const a of atomsOf(atom)) {
    if (a instanceof FunctionAtom || a instanceof ExtraFunctionAtom || (a instanceof SymbolAtom && a.name.startsWith('$'))) {
      return true;
    }
  }
  return false;
}

/**
 * medplum's FhirPathAtom (the expression root: each input element is evaluated with itself as
 * `$this`), without the intermediate arrays for the usual single input.
 */
class ViewPathAtom extends FhirPathAtom {
  constructor(
    original: string,
    child: Atom,
    private readonly scoped: boolean
  ) {
    super(original, child);
  }

  override eval(context: AtomContext, input: TypedValue[]): TypedValue[] {
    try {
      if (input.length === 1) {
        return this.child.eval(this.scoped ? { parent: context, variables: { $this: input[0] } } : context, input);
      }
      if (input.length === 0) {
        return this.child.eval(context, input);
      }
      const result: TypedValue[] = [];
      for (const e of input) {
        for (const r of this.child.eval({ parent: context, variables: { $this: e } }, [e])) {
          result.push(r);
        }
      }
      return result;
    } catch (error) {
      throw new Error(`FhirPathError on "${this.original}": ${String(error)}`, { cause: error });
    }
  }
}

/** Every atom in a parsed expression, depth first (for static checks: variables, function names). */
export function* atomsOf(atom: Atom): Generator<Atom> {
  yield atom;
  for (const value of Object.values(atom)) {
    if (Array.isArray(value)) {
      for (const v of value) {
        if (isAtom(v)) {
          yield* atomsOf(v);
        }
      }
    } else if (isAtom(value)) {
      yield* atomsOf(value);
    }
  }
}

function isAtom(v: unknown): v is Atom {
  return typeof v === 'object' && v !== null && typeof (v as Atom).eval === 'function';
}

const knownFunctions = new Map<string, boolean>();

/**
 * Whether a function name is known to the evaluator (ours or medplum's table). medplum does not export
 * its table; its FunctionAtom looks the name up before touching its arguments, so a call on an empty
 * input tells a missing name ("Unrecognized function") from any other outcome.
 */
export function isKnownFunction(name: string): boolean {
  if (EXTRA_FUNCTIONS.has(name)) {
    return true;
  }
  let known = knownFunctions.get(name);
  if (known === undefined) {
    try {
      new FunctionAtom(name, []).eval({ variables: {} }, []);
      known = true;
    } catch (err) {
      known = !(err instanceof Error && err.message.startsWith('Unrecognized function'));
    }
    knownFunctions.set(name, known);
  }
  return known;
}
