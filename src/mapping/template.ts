/**
 * The template evaluator. A template is JSON: literals are copied, `{{ fhirpath }}` strings are
 * evaluated against the input record, `$` objects are directives (directives.ts). Every template
 * gives a list of values, so pruning is uniform: an empty list removes the key, an array splices
 * the lists of its items, and empty objects and arrays disappear.
 */
import { directiveOf } from './directives.js';
import { evalAt, report, seg, toJson, type Env } from './env.js';
import { embeddedExpressions, replaceExpressions, wholeExpression, type Scope } from './expressions.js';
import type { Template, TemplateObject } from './types.js';

/**
 * Evaluates a template.
 * @param template - The template.
 * @param at - Its JSON pointer in the mapping file (for problems).
 * @param scope - Variables in scope.
 * @param env - The run: mapping, input, problems.
 * @returns Zero, one or several values.
 */
export function evaluateTemplate(template: Template, at: string, scope: Scope, env: Env): unknown[] {
  if (typeof template === 'string') {
    return evaluateString(template, at, scope, env);
  }
  if (typeof template !== 'object') {
    return [template];
  }
  if (Array.isArray(template)) {
    const items = template.flatMap((item, i) => evaluateTemplate(item, at + seg(i), scope, env));
    return items.length > 0 ? [items] : [];
  }
  const directive = directiveOf(template);
  return directive ? directive(template, at, scope, env, evaluateTemplate) : evaluateObject(template, at, scope, env);
}

function evaluateObject(template: TemplateObject, at: string, scope: Scope, env: Env): unknown[] {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key === '$comment') {
      continue;
    }
    const values = evaluateTemplate(value, at + seg(key), scope, env);
    if (values.length > 1) {
      // A single-valued key got a list: the mapping should wrap it in [ ] or narrow the expression.
      report(env, at + seg(key), `${values.length} values where one is expected`);
    } else if (values.length === 1) {
      out[key] = values[0];
    }
  }
  return Object.keys(out).length > 0 ? [out] : [];
}

/**
 * A whole-string expression keeps its values' types (boolean, number, object) and may give several;
 * an interpolated string is text, and is dropped when any of its expressions is empty, so a reference
 * is never built from half its parts. FHIR forbids empty strings, so those are dropped too.
 */
function evaluateString(text: string, at: string, scope: Scope, env: Env): unknown[] {
  const whole = wholeExpression(text);
  if (whole !== undefined) {
    return evalAt(env, whole, scope, at)
      .map(toJson)
      .filter((v) => v !== '');
  }
  if (embeddedExpressions(text).length === 0) {
    return [text];
  }
  let complete = true;
  const result = replaceExpressions(text, (expr) => {
    const values = evalAt(env, expr, scope, at);
    if (values.length !== 1 || typeof values[0].value === 'object') {
      if (values.length > 0) {
        report(env, at, `'${expr}' must give one text value inside a string, not ${values.length} value(s)`);
      }
      complete = false;
      return '';
    }
    return String(values[0].value);
  });
  return complete && result !== '' ? [result] : [];
}
