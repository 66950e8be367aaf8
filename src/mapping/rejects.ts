/**
 * The `reject` rules of a mapping file: input the mapping refuses, each with the input path to blame.
 */
import type { Problem } from '../outcomes.js';
import { conditionAt, evalAt, seg, type Env } from './env.js';
import { bind, inputPathOf, replaceExpressions, type Scope } from './expressions.js';
import type { RejectRule } from './types.js';

/** Runs every rule and returns the problems it finds (errors in the rules themselves go to env.problems). */
export function runRejects(rules: readonly RejectRule[], scope: Scope, env: Env): Problem[] {
  const found: Problem[] = [];
  rules.forEach((rule, i) => {
    const at = `/reject${seg(i)}`;
    if (rule.for === undefined) {
      if (conditionAt(env, rule.if, scope, `${at}/if`)) {
        found.push({ path: rule.path, message: render(rule.message, scope, env, at) });
      }
      return;
    }
    const forExpr = rule.for;
    evalAt(env, forExpr, scope, `${at}/for`).forEach((item, j) => {
      const itemPath = inputPathOf(forExpr, scope, env.record, j) ?? '';
      const s = bind(scope, 'item', item.value, itemPath);
      if (conditionAt(env, rule.if, s, `${at}/if`)) {
        const path = rule.path === '' ? itemPath : `${itemPath}/${rule.path.replace(/^\//, '')}`;
        found.push({ path, message: render(rule.message, s, env, at) });
      }
    });
  });
  return found;
}

/** The message with each `{{ expr }}` replaced by its value(s). */
function render(message: string, scope: Scope, env: Env, at: string): string {
  return replaceExpressions(message, (expr) =>
    evalAt(env, expr, scope, `${at}/message`)
      .map((tv) => String(tv.value))
      .join(', ')
  );
}
