/**
 * Load-time checks of a schema-valid mapping file: every FHIRPath expression parses, uses only known
 * functions and variables in scope, and every $translate names a loaded ConceptMap and one of its
 * target systems. Returns the parsed expressions for mapRecord to reuse.
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue, type FhirPathAtom } from '@medplum/core';
import type { Problem } from '../outcomes.js';
import type { ConceptMapIndex } from './conceptmap.js';
import { seg } from './env.js';
import { EMPTY, embeddedExpressions } from './expressions.js';
import type { MappingFile, Template, TemplateObject } from './types.js';

/** The variables every expression may use (transform.ts binds them). */
const BASE_VARIABLES = ['ns', 'mrnSystem', 'config', 'session', 'participants', 'consents', 'purposeOfUse'];

interface Compilation {
  expressions: Map<string, FhirPathAtom>;
  problems: Problem[];
  maps: ConceptMapIndex;
}

/**
 * Compiles a mapping file's expressions.
 * @param def - The schema-valid mapping file.
 * @param maps - The loaded ConceptMaps.
 * @returns The parsed expressions and the problems, each with its JSON pointer in the file.
 */
export function compileMapping(def: MappingFile, maps: ConceptMapIndex): Compilation {
  const c: Compilation = { expressions: new Map(), problems: [], maps };
  (def.reject ?? []).forEach((rule, i) => {
    const at = `/reject${seg(i)}`;
    if (rule.for !== undefined) {
      check(c, rule.for, `${at}/for`, BASE_VARIABLES);
    }
    const vars = rule.for === undefined ? BASE_VARIABLES : [...BASE_VARIABLES, 'item'];
    check(c, rule.if, `${at}/if`, vars);
    walkString(c, rule.message, `${at}/message`, vars);
  });
  const vars = bindings(c, def.let ?? {}, '/let', BASE_VARIABLES);
  def.resources.forEach((rule, i) => {
    const at = `/resources${seg(i)}`;
    if (rule.when !== undefined) {
      check(c, rule.when, `${at}/when`, vars);
    }
    walkString(c, rule.key.system, `${at}/key/system`, vars);
    walkString(c, rule.key.value, `${at}/key/value`, vars);
    walk(c, rule.template, `${at}/template`, [...vars, 'key']);
  });
  return c;
}

function bindings(c: Compilation, b: TemplateObject, at: string, vars: string[]): string[] {
  let scope = vars;
  for (const [name, template] of Object.entries(b)) {
    if (name !== '$comment') {
      walk(c, template, at + seg(name), scope);
      scope = [...scope, name];
    }
  }
  return scope;
}

function walk(c: Compilation, t: Template, at: string, vars: string[]): void {
  if (typeof t === 'string') {
    walkString(c, t, at, vars);
  } else if (Array.isArray(t)) {
    t.forEach((item, i) => walk(c, item, at + seg(i), vars));
  } else if (typeof t === 'object') {
    walkObject(c, t, at, vars);
  }
}

function walkObject(c: Compilation, t: TemplateObject, at: string, vars: string[]): void {
  if (typeof t.$each === 'string') {
    check(c, t.$each, `${at}/$each`, vars);
    walk(c, t.$do, `${at}/$do`, [...vars, (t.$var as string | undefined) ?? 'item']);
  } else if (typeof t.$if === 'string') {
    check(c, t.$if, `${at}/$if`, vars);
    walk(c, t.$then, `${at}/$then`, vars);
    if (t.$else !== undefined) {
      walk(c, t.$else, `${at}/$else`, vars);
    }
  } else if (t.$let !== undefined) {
    walk(c, t.$in, `${at}/$in`, bindings(c, t.$let as TemplateObject, `${at}/$let`, vars));
  } else if (typeof t.$translate === 'string') {
    check(c, t.$translate, `${at}/$translate`, vars);
    checkMap(c, t, at);
  } else if (Array.isArray(t.$minutesBetween)) {
    t.$minutesBetween.forEach((e, i) => check(c, e as string, `${at}/$minutesBetween${seg(i)}`, vars));
  } else {
    for (const [key, value] of Object.entries(t)) {
      if (['$base64', '$sha1Base64', '$byteLength'].includes(key)) {
        check(c, value as string, at + seg(key), vars);
      } else if (key !== '$comment') {
        walk(c, value, at + seg(key), vars);
      }
    }
  }
}

function walkString(c: Compilation, text: string, at: string, vars: string[]): void {
  for (const expr of embeddedExpressions(text)) {
    check(c, expr, at, vars);
  }
}

function checkMap(c: Compilation, t: TemplateObject, at: string): void {
  const id = t.$map as string;
  if (!c.maps.get(id)) {
    c.problems.push({ path: `${at}/$map`, message: `no ConceptMap '${id}' in conceptmaps/ (known: ${c.maps.ids().join(', ')})` });
  } else if (typeof t.$target === 'string' && !c.maps.targets(id).includes(t.$target)) {
    c.problems.push({
      path: `${at}/$target`,
      message: `ConceptMap '${id}' has no group with target ${t.$target} (targets: ${c.maps.targets(id).join(', ')})`,
    });
  }
}

/**
 * Parses an expression, then runs it once on empty input with every variable in scope bound to an
 * empty value: medplum only notices unknown functions and undefined variables when evaluating.
 */
function check(c: Compilation, expr: string, at: string, vars: string[]): void {
  let atom: FhirPathAtom;
  try {
    atom = parseFhirPath(expr);
  } catch (err) {
    c.problems.push({ path: at, message: `invalid FHIRPath '${expr}': ${message(err)}` });
    return;
  }
  c.expressions.set(expr, atom);
  try {
    evalFhirPathTyped(atom, [toTypedValue({})], Object.fromEntries(vars.map((v) => [`%${v}`, EMPTY])));
  } catch (err) {
    const text = message(err);
    if (/Unrecognized function|Undefined variable/.test(text)) {
      c.problems.push({ path: at, message: `FHIRPath '${expr}': ${text.replace(/^FhirPathError on "[^"]*": (Error: )?/, '')}` });
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
