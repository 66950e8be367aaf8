/**
 * Compiles a rule's FHIRPath into something the de-identifier can apply without evaluating FHIRPath per
 * element.
 *
 * A path made only of a root (a resource type, `Resource`, `DomainResource`, `nodesByType('T')`,
 * `nodesByName('n')`), member steps, `ofType(T)` / `as T` and unions is *static*: whether it selects an
 * element depends only on where the element sits (its names and types from the resource root), so the
 * answer is computed once per element path and cached. Anything else (`where(...)`, `first()`, `[n]`) is
 * *dynamic*: evaluated per resource by locate.ts, with conditions handed to @medplum/core's FHIRPath.
 */
import {
  AsAtom,
  DotAtom,
  FunctionAtom,
  IndexerAtom,
  isResourceType,
  LiteralAtom,
  parseFhirPath,
  SymbolAtom,
  tryGetDataType,
  UnionAtom,
  type Atom,
} from '@medplum/core';
import type { DeidRule } from './types.js';

/** Where a static path starts. `type` on byName narrows the element's type (`nodesByName('value').ofType(Quantity)`). */
export type Root =
  | { kind: 'resource'; type: string }
  | { kind: 'byType'; type: string }
  | { kind: 'byName'; name: string; type?: string };

/** One member step, optionally narrowed to a type. */
export interface Segment {
  name: string;
  type?: string;
}

/** One alternative of a static path. */
export interface Chain {
  root: Root;
  segments: Segment[];
}

/** A rule ready to apply: static chains, or a dynamic expression. */
export interface CompiledRule {
  index: number;
  rule: DeidRule;
  chains?: Chain[];
  dynamic?: Atom;
  /** For a dynamic rule: the resource types its roots can match (undefined = any). */
  dynamicTypes?: ReadonlySet<string>;
  /** For a static rule: the FHIR type each chain ends on, where the definitions tell (for method checks). */
  finalTypes?: (string | undefined)[];
}

const SELECT_FUNCTIONS = new Set(['nodesByType', 'nodesByName', 'where', 'ofType', 'first', 'last']);
const NOT_DOMAIN = new Set(['Bundle', 'Binary', 'Parameters']);

/** True when a root resource name (`Resource`, `DomainResource`, a type) matches a resource's type. */
export function resourceRootMatches(root: string, resourceType: string): boolean {
  return root === 'Resource' || (root === 'DomainResource' && !NOT_DOMAIN.has(resourceType)) || root === resourceType;
}

/**
 * Compiles one rule.
 * @returns The compiled rule, or the problems of its path (each a plain sentence).
 */
export function compileRule(rule: DeidRule, index: number): { compiled?: CompiledRule; problems: string[] } {
  let ast: Atom;
  try {
    ast = parseFhirPath(rule.path).child;
  } catch (err) {
    return { problems: [`is not valid FHIRPath (${err instanceof Error ? err.message : String(err)})`] };
  }
  const problems = checkSupported(ast);
  if (problems.length > 0) {
    return { problems };
  }
  const chains = toChains(ast);
  if (chains) {
    if (chains.some((c) => c.root.kind === 'resource' && c.segments.length === 0)) {
      return { problems: ['selects a whole resource; rules select elements (list the types a policy covers in resourceTypes)'] };
    }
    const finalTypes: (string | undefined)[] = [];
    for (const chain of chains) {
      const walked = walkChainTypes(chain);
      problems.push(...walked.problems);
      finalTypes.push(walked.type);
    }
    return problems.length > 0 ? { problems } : { compiled: { index, rule, chains, finalTypes }, problems };
  }
  return { compiled: { index, rule, dynamic: ast, dynamicTypes: rootTypes(ast) }, problems };
}

/** Paths may only select: every function must be a selection function, every root a resource or nodesBy*. */
function checkSupported(atom: Atom): string[] {
  if (atom instanceof UnionAtom || atom instanceof DotAtom) {
    return [...checkSupported(atom.left), ...(atom instanceof DotAtom && isMemberLike(atom.right) ? [] : checkSupported(atom.right))];
  }
  if (atom instanceof AsAtom) {
    return atom.right instanceof SymbolAtom ? checkSupported(atom.left) : ['uses "as" with something other than a type name'];
  }
  if (atom instanceof IndexerAtom) {
    return atom.expr instanceof LiteralAtom && typeof atom.expr.value.value === 'number'
      ? checkSupported(atom.left)
      : ['indexes with something other than a number'];
  }
  if (atom instanceof FunctionAtom) {
    if (!SELECT_FUNCTIONS.has(atom.name)) {
      return [`uses ${atom.name}(); a rule path may only use nodesByType, nodesByName, where, ofType, first and last`];
    }
    if ((atom.name === 'nodesByType' || atom.name === 'nodesByName') && !literalString(atom.args[0])) {
      return [`${atom.name}() takes one quoted name, like ${atom.name}('HumanName')`];
    }
    return [];
  }
  if (atom instanceof SymbolAtom) {
    return isRootName(atom.name) ? [] : [`starts with "${atom.name}"; start with a resource type, Resource, DomainResource, nodesByType() or nodesByName()`];
  }
  return [`uses "${atom.toString()}", which does not select elements`];
}

function isMemberLike(atom: Atom): boolean {
  return atom instanceof SymbolAtom || (atom instanceof FunctionAtom && SELECT_FUNCTIONS.has(atom.name) && atom.name !== 'nodesByType' && atom.name !== 'nodesByName');
}

function isRootName(name: string): boolean {
  return name === 'Resource' || name === 'DomainResource' || isResourceType(name);
}

function literalString(atom: Atom | undefined): string | undefined {
  return atom instanceof LiteralAtom && typeof atom.value.value === 'string' ? atom.value.value : undefined;
}

/** The static chains of a path, or undefined when it needs per-resource evaluation. */
function toChains(atom: Atom): Chain[] | undefined {
  if (atom instanceof UnionAtom) {
    const left = toChains(atom.left);
    const right = toChains(atom.right);
    return left && right ? [...left, ...right] : undefined;
  }
  if (atom instanceof SymbolAtom) {
    return [{ root: { kind: 'resource', type: atom.name }, segments: [] }];
  }
  if (atom instanceof FunctionAtom && (atom.name === 'nodesByType' || atom.name === 'nodesByName')) {
    const arg = literalString(atom.args[0]) as string;
    return [{ root: atom.name === 'nodesByType' ? { kind: 'byType', type: arg } : { kind: 'byName', name: arg }, segments: [] }];
  }
  if (atom instanceof AsAtom) {
    return narrow(toChains(atom.left), (atom.right as SymbolAtom).name);
  }
  if (atom instanceof DotAtom) {
    const left = toChains(atom.left);
    if (!left) {
      return undefined;
    }
    if (atom.right instanceof SymbolAtom) {
      const name = atom.right.name;
      return left.map((c) => ({ root: c.root, segments: [...c.segments, { name }] }));
    }
    if (atom.right instanceof FunctionAtom && atom.right.name === 'ofType' && atom.right.args[0] instanceof SymbolAtom) {
      return narrow(left, atom.right.args[0].name);
    }
  }
  return undefined;
}

function narrow(chains: Chain[] | undefined, type: string): Chain[] | undefined {
  return chains?.map((c) => {
    if (c.segments.length > 0) {
      const last = c.segments[c.segments.length - 1];
      return { root: c.root, segments: [...c.segments.slice(0, -1), { ...last, type }] };
    }
    if (c.root.kind === 'byName') {
      return { root: { ...c.root, type }, segments: [] };
    }
    return c; // nodesByType('T').ofType(T) and Patient.ofType(Patient) narrow nothing
  });
}

/** Follows a chain through the definitions: unknown element names are problems; returns the final type. */
function walkChainTypes(chain: Chain): { type?: string; problems: string[] } {
  let type: string | undefined =
    chain.root.kind === 'resource' ? (chain.root.type === 'Resource' ? 'Resource' : chain.root.type === 'DomainResource' ? 'DomainResource' : chain.root.type) : chain.root.type;
  if (chain.root.kind === 'byType' && !tryGetDataType(chain.root.type) && !/^[a-z]/.test(chain.root.type)) {
    return { problems: [`nodesByType('${chain.root.type}'): no FHIR type is called ${chain.root.type}`] };
  }
  for (const segment of chain.segments) {
    if (!type) {
      return { problems: [] }; // after nodesByName() without a type, element names cannot be checked
    }
    const schema = tryGetDataType(type);
    const element = schema?.elements[segment.name] ?? schema?.elements[`${segment.name}[x]`];
    if (!element) {
      return { problems: [`${type} has no element "${segment.name}"`] };
    }
    const codes = element.type.map((t) => t.code);
    if (segment.type && !codes.includes(segment.type)) {
      return { problems: [`${type}.${segment.name} cannot be a ${segment.type} (it is ${codes.join(' or ')})`] };
    }
    type = segment.type ?? (codes.length === 1 ? codes[0] : undefined);
  }
  return { type, problems: [] };
}

/** The resource types a dynamic path's roots can match; undefined when any type can match. */
function rootTypes(atom: Atom): Set<string> | undefined {
  if (atom instanceof UnionAtom) {
    const l = rootTypes(atom.left);
    const r = rootTypes(atom.right);
    return l && r ? new Set([...l, ...r]) : undefined;
  }
  if (atom instanceof DotAtom || atom instanceof AsAtom || atom instanceof IndexerAtom) {
    return rootTypes(atom.left);
  }
  if (atom instanceof SymbolAtom && isResourceType(atom.name)) {
    return new Set([atom.name]);
  }
  return undefined;
}

/**
 * Whether a static chain selects the element at `depth` of the current path.
 * @param names - Element names from the root (index 0 is the resource type).
 * @param types - FHIR types from the root (index 0 is the resource type).
 */
export function chainMatches(chain: Chain, names: readonly string[], types: readonly string[], depth: number): boolean {
  const k = chain.segments.length;
  const j = depth - k;
  if (j < 0) {
    return false;
  }
  for (let i = 1; i <= k; i++) {
    const s = chain.segments[i - 1];
    if (names[j + i] !== s.name || (s.type !== undefined && types[j + i] !== s.type)) {
      return false;
    }
  }
  const root = chain.root;
  switch (root.kind) {
    case 'resource':
      return j === 0 && resourceRootMatches(root.type, types[0]);
    case 'byType':
      return j >= 1 && types[j] === root.type;
    case 'byName':
      return j >= 1 && names[j] === root.name && (root.type === undefined || types[j] === root.type);
  }
}
