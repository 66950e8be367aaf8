/**
 * The de-identifier: one walk over a resource builds its de-identified copy (the input is never changed).
 *
 * Each element is governed by the earliest rule (in file order) that selects it or any of its ancestors,
 * as in Microsoft's anonymization tool: `nodesByType('HumanName').use` keep, listed before
 * `nodesByType('HumanName')` redact, keeps the name's use and removes the rest. An element no rule governs
 * stays as it is; elements the FHIR definitions do not know, and `_primitive` extension siblings, are
 * removed. Objects and arrays left empty are removed.
 */
import { evalFhirPath, FunctionAtom, IndexerAtom, parseFhirPath, SymbolAtom, type Atom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { keyInfo, type KeyInfo } from './element-types.js';
import { follow, MANY, memberPath } from './follow.js';
import { markDynamic, type DynamicMarks } from './locate.js';
import { applyToPrimitive, REMOVED, type PrimitiveContext } from './primitive.js';
import { clientIdOf, createPseudonymizer, type Pseudonymizer } from './pseudonyms.js';
import { chainMatches, type CompiledRule } from './selector.js';
import type { DeidentifierOptions, Deidentifier, DeidPolicy } from './types.js';

const NONE = Number.MAX_SAFE_INTEGER;

/**
 * Creates the de-identifier of a policy under a key.
 * @param policy - A policy from loadDeidPolicy.
 * @param key - The deployment secret DEID_KEY: pseudonyms and date offsets derive from it.
 * @returns A function from a resource to its de-identified copy, or undefined when the resource's type is
 *   outside the policy or processing it failed (it is then left out rather than passed on half done).
 */
export function createDeidentifier(policy: DeidPolicy, key: string | Buffer, options: DeidentifierOptions = {}): Deidentifier {
  const pseudonyms = createPseudonymizer(key);
  const now = options.now ?? (() => new Date());
  const staticRules = policy.rules.filter((r) => r.chains);
  const dynamicRules = policy.rules.filter((r) => r.dynamic);
  const clients = new Map(Object.entries(policy.definition.clients ?? {}).map(([type, expression]) => [type, clientFinder(type, expression)]));
  /** Element paths seen so far, as a tree: what each key is and which static rule selects it, computed once. */
  const roots = new Map<string, PathNode>();

  const deidentify = (resource: Resource): Resource | undefined => {
    if (!resource || !policy.resourceTypes.has(resource.resourceType)) {
      return undefined;
    }
    try {
      const walker = new Walker(resource, {
        policy,
        staticRules,
        roots,
        marks: dynamicMarks(resource, dynamicRules),
        primitive: {
          pseudonyms,
          now,
          offsetDays: once(() => pseudonyms.offsetDays(clientPseudonym(resource, clients, pseudonyms), policy.dateShiftRangeDays)),
        },
      });
      return walker.run();
    } catch (err) {
      // Never the message: it may quote the data.
      options.onDropped?.({ resourceType: resource.resourceType, reason: err instanceof Error ? err.name : 'error' });
      return undefined;
    }
  };
  const reads = policyReads(policy);
  return reads ? Object.assign(deidentify, { reads }) : deidentify;
}

/**
 * The top-level element names the de-identification of *other* elements may look at: the client
 * expressions (the date-shift offset comes from the client) and the conditions of dynamic rules
 * (`where(system = ...)`: every member name in them, at any depth, is kept). Undefined when a dynamic
 * rule picks by position (`first()`, `last()`, `[n]`): which element is first depends on every element
 * before it, so nothing may be dropped.
 */
function policyReads(policy: DeidPolicy): ReadonlySet<string> | undefined {
  const names = new Set<string>();
  const walk = (atom: Atom, inCondition: boolean): boolean => {
    if (atom instanceof IndexerAtom || (atom instanceof FunctionAtom && (atom.name === 'first' || atom.name === 'last'))) {
      return false;
    }
    if (atom instanceof SymbolAtom && inCondition) {
      names.add(atom.name);
    }
    const condition = inCondition || (atom instanceof FunctionAtom && atom.name === 'where');
    for (const value of Object.values(atom)) {
      for (const child of Array.isArray(value) ? value : [value]) {
        if (typeof child === 'object' && child !== null && typeof (child as Atom).eval === 'function' && !walk(child as Atom, condition)) {
          return false;
        }
      }
    }
    return true;
  };
  for (const r of policy.rules) {
    if (r.dynamic && !walk(r.dynamic, false)) {
      return undefined;
    }
  }
  for (const expression of Object.values(policy.definition.clients ?? {})) {
    walk(parseFhirPath(expression).child, true); // every name of a client path is read
  }
  return names;
}

function dynamicMarks(resource: Resource, rules: CompiledRule[]): DynamicMarks | undefined {
  let marks: DynamicMarks | undefined;
  for (const r of rules) {
    if (r.dynamicTypes && !r.dynamicTypes.has(resource.resourceType)) {
      continue;
    }
    marks ??= new Map();
    markDynamic(resource, r.dynamic as NonNullable<CompiledRule['dynamic']>, r.index, marks);
  }
  return marks;
}

/** Finds the client reference or id in a resource: natively for a plain path, else with FHIRPath. */
function clientFinder(type: string, expression: string): (r: Resource) => string | undefined {
  const atom = parseFhirPath(expression);
  const path = memberPath(atom.child);
  const native = path && path[0] === type ? path.slice(1) : undefined;
  const byFhirPath = (r: Resource): string | undefined => evalFhirPath(atom, r).find((v): v is string => typeof v === 'string' && v !== '');
  return (r) => {
    if (native) {
      const found = follow(r, native);
      if (found !== MANY) {
        return typeof found === 'string' && found !== '' ? found : undefined;
      }
    }
    return byFhirPath(r);
  };
}

/** The pseudonym of the resource's client (its Patient), or of the resource itself when it names none. */
function clientPseudonym(resource: Resource, clients: Map<string, (r: Resource) => string | undefined>, pseudonyms: Pseudonymizer): string {
  const found = clients.get(resource.resourceType)?.(resource);
  return pseudonyms.hash(found ? clientIdOf(found) : `${resource.resourceType}/${resource.id ?? ''}`);
}

function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = fn();
      done = true;
    }
    return value;
  };
}

interface WalkContext {
  policy: DeidPolicy;
  staticRules: CompiledRule[];
  roots: Map<string, PathNode>;
  marks?: DynamicMarks;
  primitive: PrimitiveContext;
}

/**
 * One element path (`Encounter.participant.individual`): what its key is and the earliest static rule
 * selecting it. Built on first sight and reused for every later resource, so the walk does one map
 * lookup per element instead of matching rules.
 */
interface PathNode {
  info: KeyInfo;
  /** The FHIR type of the value (a contained resource's own type). */
  type: string;
  ownRule: number;
  children: Map<string, PathNode>;
}

/** One resource's walk: element names and types from the root, kept as stacks for the static matcher. */
class Walker {
  private readonly names: string[] = [];
  private readonly types: string[] = [];

  constructor(
    private readonly resource: Resource,
    private readonly ctx: WalkContext
  ) {}

  run(): Resource {
    const type = this.resource.resourceType;
    this.names[0] = type;
    this.types[0] = type;
    let root = this.ctx.roots.get(type);
    if (!root) {
      root = { info: { name: type, type, primitive: false, known: true }, type, ownRule: NONE, children: new Map() };
      this.ctx.roots.set(type, root);
    }
    const out = this.object(this.resource as unknown as Record<string, unknown>, root, 0, NONE);
    return (out ?? { resourceType: type }) as unknown as Resource;
  }

  /** The copy of an object's kept content, or undefined when nothing is left. */
  private object(src: Record<string, unknown>, node: PathNode, depth: number, inherited: number): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    let kept = 0;
    for (const key of Object.keys(src)) {
      if (key === 'resourceType') {
        out.resourceType = src.resourceType;
        continue;
      }
      const value = src[key];
      if (Array.isArray(value)) {
        const items: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
          const r = this.element(value[i], node, src, key, i, depth + 1, inherited);
          if (r !== REMOVED) {
            items.push(r);
          }
        }
        if (items.length > 0) {
          out[key] = items;
          kept++;
        }
      } else {
        const r = this.element(value, node, src, key, -1, depth + 1, inherited);
        if (r !== REMOVED) {
          out[key] = r;
          kept++;
        }
      }
    }
    return kept > 0 ? out : undefined;
  }

  private element(value: unknown, parentNode: PathNode, parent: object, key: string, index: number, depth: number, inherited: number): unknown {
    if (value === null || value === undefined) {
      return REMOVED;
    }
    const node = this.child(parentNode, key, value, depth);
    if (!node) {
      return REMOVED; // `_primitive` siblings and keys FHIR does not define: nothing vouches for them
    }
    const info = node.info;
    const type = node.type;
    let governing = Math.min(inherited, node.ownRule);
    const dynamic = this.ctx.marks?.get(parent)?.get(`${key}#${index}`);
    if (dynamic !== undefined && dynamic < governing) {
      governing = dynamic;
    }
    const rule = governing === NONE ? undefined : this.ctx.policy.rules[governing].rule;

    if (info.primitive !== (typeof value !== 'object')) {
      return REMOVED; // a primitive where an object belongs or the reverse: malformed, so fail closed
    }
    if (info.primitive) {
      const isReference = key === 'reference' && parentNode.type === 'Reference';
      return applyToPrimitive(rule, value, type, isReference, this.ctx.primitive);
    }
    if (rule?.method === 'substitute') {
      return structuredClone(rule.replaceWith);
    }
    this.names[depth] = info.name;
    this.types[depth] = type;
    return this.object(value as Record<string, unknown>, node, depth, governing) ?? REMOVED;
  }

  /** The path node of `key` below `parentNode` (created and matched against the static rules on first sight). */
  private child(parentNode: PathNode, key: string, value: unknown, depth: number): PathNode | undefined {
    // A contained resource's type is in the value; its node is per type, so rules see the right types.
    const containedType = typeof value === 'object' && (value as Resource).resourceType;
    const mapKey = containedType ? `${key}:${containedType}` : key;
    let node = parentNode.children.get(mapKey);
    if (node === undefined) {
      const info = keyInfo(parentNode.type, key);
      if (!info.known) {
        parentNode.children.set(mapKey, (node = { info, type: '', ownRule: NONE, children: new Map() }));
        return undefined;
      }
      const type = info.type === 'Resource' ? (containedType || 'Resource') : info.type;
      this.names[depth] = info.name;
      this.types[depth] = type;
      let ownRule = NONE;
      for (const r of this.ctx.staticRules) {
        if ((r.chains ?? []).some((c) => chainMatches(c, this.names, this.types, depth))) {
          ownRule = r.index;
          break;
        }
      }
      node = { info, type, ownRule, children: new Map() };
      parentNode.children.set(mapKey, node);
    }
    return node.info.known ? node : undefined;
  }
}

/**
 * The rule governing an element described by its names and types from the root (index 0: the resource
 * type), for checking a policy against a type definition rather than an instance (the completeness test).
 * @returns The governing rule (own or inherited from an ancestor), or undefined.
 */
export function governingRule(policy: DeidPolicy, names: readonly string[], types: readonly string[]): CompiledRule | undefined {
  let governing = NONE;
  for (let depth = 1; depth < names.length; depth++) {
    for (const r of policy.rules) {
      if (r.index >= governing) {
        break;
      }
      if (r.chains?.some((c) => chainMatches(c, names, types, depth))) {
        governing = r.index;
        break;
      }
    }
  }
  return governing === NONE ? undefined : policy.rules[governing];
}
