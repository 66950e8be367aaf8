/**
 * The state of one mapRecord run shared by the template evaluator and its directives: the mapping,
 * the input, and the problems found so far (the engine reports every problem, not the first).
 */
import type { TypedValue } from '@medplum/core';
import type { Problem } from '../outcomes.js';
import type { ConceptMapIndex } from './conceptmap.js';
import { atomFor, evaluateExpression, type Scope } from './expressions.js';
import type { LoadedMapping, Template } from './types.js';

export interface Env {
  mapping: LoadedMapping;
  maps: ConceptMapIndex;
  /** The deployment namespace, for practice code systems. */
  ns: string;
  /** The input record, and the same as a FHIRPath focus. */
  record: unknown;
  focus: TypedValue[];
  /** The resource type being built, for element paths in problems. */
  resourceType?: string;
  problems: Problem[];
}

/** Evaluates a template to a list of values: none (pruned), one, or several (spliced into an array). */
export type Evaluate = (template: Template, at: string, scope: Scope, env: Env) => unknown[];

/** A JSON pointer segment. */
export function seg(key: string | number): string {
  return `/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * The element a template location builds, as a FHIRPath-like path (`Encounter.participant.type`),
 * or the mapping location itself outside a resource template.
 */
export function elementPath(env: Env, at: string): string {
  const parts = at.split('/').slice(1);
  const t = parts.indexOf('template');
  if (t < 0 || !env.resourceType) {
    return `${env.mapping.id}:${at}`;
  }
  const names = parts.slice(t + 1).filter((p) => !/^\d+$/.test(p) && !p.startsWith('$'));
  return [env.resourceType, ...names].join('.');
}

/**
 * Records a problem. Its path is the input path when known, else the element being built; the
 * message names the mapping location so an integration engineer can find the rule.
 */
export function report(env: Env, at: string, message: string, inputPath?: string): void {
  env.problems.push({ path: inputPath ?? elementPath(env, at), message: `${message} (${env.mapping.id} ${at})` });
}

/** Evaluates an expression; a FHIRPath run-time error becomes a problem and an empty result. */
export function evalAt(env: Env, expr: string, scope: Scope, at: string): TypedValue[] {
  try {
    return evaluateExpression(atomFor(env.mapping.expressions, expr), env.focus, scope);
  } catch (err) {
    report(env, at, `FHIRPath '${expr}' failed: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

/** A condition's value: empty is false, one boolean is itself, anything else is a problem (and false). */
export function conditionAt(env: Env, expr: string, scope: Scope, at: string): boolean {
  const values = evalAt(env, expr, scope, at);
  if (values.length === 0) {
    return false;
  }
  if (values.length === 1 && typeof values[0].value === 'boolean') {
    return values[0].value;
  }
  report(env, at, `condition '${expr}' must give one boolean, not ${values.length} value(s)`);
  return false;
}

/** A FHIRPath value as output JSON: objects are copied so the output never aliases the input. */
export function toJson(tv: TypedValue): unknown {
  return tv.value !== null && typeof tv.value === 'object' ? structuredClone(tv.value) : tv.value;
}
