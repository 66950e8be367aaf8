/**
 * Evaluates a dynamic rule path (one with where(), first(), [n] ...) on one resource and returns *where*
 * the selected elements are (parent object, key, array index), not just their values: a primitive value
 * alone cannot be found again in the resource. Navigation is ours; the conditions inside where() are
 * evaluated by @medplum/core's FHIRPath on each candidate element.
 */
import {
  AsAtom,
  DotAtom,
  EqualsAtom,
  evalFhirPathTyped,
  FhirPathAtom,
  FunctionAtom,
  IndexerAtom,
  LiteralAtom,
  SymbolAtom,
  UnionAtom,
  type Atom,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { keyInfo } from './element-types.js';
import { follow, MANY, memberPath } from './follow.js';
import { resourceRootMatches } from './selector.js';

/** An element of a resource and where it sits. */
export interface Located {
  value: unknown;
  /** Its FHIR type (`ContactPoint`, `string` ...). */
  type: string;
  /** Its element name (the choice base for choice elements). */
  name: string;
  /** The object holding it; undefined for the resource itself. */
  parent?: object;
  key: string;
  /** Its index when the element repeats; -1 otherwise. */
  index: number;
}

/** Marks found by dynamic rules: parent object -> `key#index` -> the earliest rule index. */
export type DynamicMarks = Map<object, Map<string, number>>;

/** A where() condition: decides per element. */
type Condition = (node: Located) => boolean;

const conditionCache = new WeakMap<Atom, Condition>();

/**
 * Records, for every element the path selects in `resource`, that rule `ruleIndex` governs it (unless an
 * earlier rule already does).
 */
export function markDynamic(resource: Resource, path: Atom, ruleIndex: number, marks: DynamicMarks): void {
  const root: Located = { value: resource, type: resource.resourceType, name: resource.resourceType, key: '', index: -1 };
  for (const node of evaluate(path, [root], true)) {
    if (!node.parent) {
      continue; // the resource itself is never selected (compile-time check); nothing to mark
    }
    let byKey = marks.get(node.parent);
    if (!byKey) {
      byKey = new Map();
      marks.set(node.parent, byKey);
    }
    const k = `${node.key}#${node.index}`;
    const prior = byKey.get(k);
    if (prior === undefined || prior > ruleIndex) {
      byKey.set(k, ruleIndex);
    }
  }
}

function evaluate(atom: Atom, input: Located[], atRoot: boolean): Located[] {
  if (atom instanceof UnionAtom) {
    return dedupe([...evaluate(atom.left, input, atRoot), ...evaluate(atom.right, input, atRoot)]);
  }
  if (atom instanceof DotAtom) {
    return evaluate(atom.right, evaluate(atom.left, input, atRoot), false);
  }
  if (atom instanceof AsAtom) {
    const type = (atom.right as SymbolAtom).name;
    return evaluate(atom.left, input, atRoot).filter((n) => n.type === type);
  }
  if (atom instanceof IndexerAtom) {
    const at = (atom.expr as LiteralAtom).value.value as number;
    const selected = evaluate(atom.left, input, atRoot);
    return at >= 0 && at < selected.length ? [selected[at]] : [];
  }
  if (atom instanceof SymbolAtom) {
    return atRoot ? input.filter((n) => resourceRootMatches(atom.name, n.type)) : input.flatMap((n) => children(n, atom.name));
  }
  if (atom instanceof FunctionAtom) {
    return applyFunction(atom, input);
  }
  return [];
}

function applyFunction(fn: FunctionAtom, input: Located[]): Located[] {
  switch (fn.name) {
    case 'nodesByType': {
      const type = (fn.args[0] as LiteralAtom).value.value as string;
      return input.flatMap((n) => descendants(n).filter((d) => d.type === type));
    }
    case 'nodesByName': {
      const name = (fn.args[0] as LiteralAtom).value.value as string;
      return input.flatMap((n) => descendants(n).filter((d) => d.name === name));
    }
    case 'ofType': {
      const type = (fn.args[0] as SymbolAtom).name;
      return input.filter((n) => n.type === type);
    }
    case 'first':
      return input.slice(0, 1);
    case 'last':
      return input.slice(-1);
    case 'where': {
      const condition = conditionOf(fn.args[0]);
      return input.filter(condition);
    }
    default:
      return []; // unreachable: compileRule refuses other functions
  }
}

function conditionOf(atom: Atom): Condition {
  let compiled = conditionCache.get(atom);
  if (!compiled) {
    const full = new FhirPathAtom(atom.toString(), atom);
    const byMedplum: Condition = (n) => {
      const result = evalFhirPathTyped(full, [{ type: n.type, value: n.value }]);
      return result.length === 1 && result[0].value === true;
    };
    const fast = fastCondition(atom);
    compiled = fast ? (n) => fast(n.value) ?? byMedplum(n) : byMedplum;
    conditionCache.set(atom, compiled);
  }
  return compiled;
}

/**
 * The common condition shapes decided without the FHIRPath engine (a third of a resource's cost went to
 * `system = '...'` on every tag): `a.b = <literal>`, `a.b.startsWith('x')`, `a.b.endsWith('x')` over
 * single values. Returns undefined (ask medplum) for anything it cannot decide exactly.
 */
function fastCondition(atom: Atom): ((value: unknown) => boolean | undefined) | undefined {
  if (atom instanceof EqualsAtom && atom.right instanceof LiteralAtom) {
    const path = memberPath(atom.left);
    const literal = atom.right.value.value;
    if (!path || (typeof literal !== 'string' && typeof literal !== 'boolean')) {
      return undefined;
    }
    return (value) => {
      const found = follow(value, path);
      return found === MANY ? undefined : found === literal;
    };
  }
  if (atom instanceof DotAtom && atom.right instanceof FunctionAtom && ['startsWith', 'endsWith'].includes(atom.right.name)) {
    const path = memberPath(atom.left);
    const arg = atom.right.args[0];
    const text = arg instanceof LiteralAtom && typeof arg.value.value === 'string' ? arg.value.value : undefined;
    if (!path || text === undefined) {
      return undefined;
    }
    const starts = atom.right.name === 'startsWith';
    return (value) => {
      const found = follow(value, path);
      if (found === MANY) {
        return undefined;
      }
      return typeof found === 'string' && (starts ? found.startsWith(text) : found.endsWith(text));
    };
  }
  return undefined;
}
/** The children of an element named `name` (a choice name matches each of its typed keys). */
function children(node: Located, name: string): Located[] {
  const value = node.value;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return [];
  }
  const out: Located[] = [];
  for (const key of Object.keys(value)) {
    if (key === 'resourceType' || key.startsWith('_')) {
      continue;
    }
    const info = keyInfo(node.type, key);
    if (info.known && info.name === name) {
      out.push(...entries(value, key, info.type, name));
    }
  }
  return out;
}

function entries(parent: object, key: string, type: string, name: string): Located[] {
  const v = (parent as Record<string, unknown>)[key];
  const typeOf = (item: unknown): string => (type === 'Resource' ? ((item as Resource)?.resourceType ?? type) : type);
  if (Array.isArray(v)) {
    return v.map((item, index) => ({ value: item, type: typeOf(item), name, parent, key, index }));
  }
  return [{ value: v, type: typeOf(v), name, parent, key, index: -1 }];
}

/** Every element below `node` (not itself), depth first. */
function descendants(node: Located): Located[] {
  const out: Located[] = [];
  const stack: Located[] = [node];
  while (stack.length > 0) {
    const current = stack.pop() as Located;
    const value = current.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === 'resourceType' || key.startsWith('_')) {
        continue;
      }
      const info = keyInfo(current.type, key);
      if (!info.known) {
        continue;
      }
      for (const child of entries(value, key, info.type, info.name)) {
        out.push(child);
        stack.push(child);
      }
    }
  }
  return out;
}

function dedupe(nodes: Located[]): Located[] {
  const seen = new Map<object | undefined, Set<string>>();
  return nodes.filter((n) => {
    let keys = seen.get(n.parent);
    if (!keys) {
      keys = new Set();
      seen.set(n.parent, keys);
    }
    const k = `${n.key}#${n.index}`;
    if (keys.has(k)) {
      return false;
    }
    keys.add(k);
    return true;
  });
}
