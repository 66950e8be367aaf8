/**
 * The template directives: objects whose first key starts with `$` (mappings/README.md). Each returns
 * a list of values like any template, so a directive inside an array can add several items.
 */
import { COMPUTED, minutesBetween, type ComputedDirective } from './computed.js';
import { conditionAt, evalAt, report, seg, toJson, type Env, type Evaluate } from './env.js';
import { bind, inputPathOf, wholeExpression, type Scope } from './expressions.js';
import type { TemplateObject } from './types.js';

type Handler = (t: TemplateObject, at: string, scope: Scope, env: Env, ev: Evaluate) => unknown[];

/** Binds each `name: template` in order (later bindings see earlier ones) and returns the new scope. */
export function bindAll(bindings: TemplateObject, at: string, scope: Scope, env: Env, ev: Evaluate): Scope {
  let s = scope;
  for (const [name, template] of Object.entries(bindings)) {
    if (name === '$comment') {
      continue;
    }
    const values = ev(template, at + seg(name), s, env);
    if (values.length > 1) {
      report(env, at + seg(name), `%${name} must be one value, not ${values.length}`);
    }
    // A binding that is a plain path into the input keeps that path, so problems can name it.
    const expr = typeof template === 'string' ? wholeExpression(template) : undefined;
    const path = expr ? inputPathOf(expr, s, env.record, 0) : undefined;
    s = bind(s, name, values[0], path);
  }
  return s;
}

const each: Handler = (t, at, scope, env, ev) => {
  const expr = t.$each as string;
  const name = (t.$var as string | undefined) ?? 'item';
  return evalAt(env, expr, scope, at + '/$each').flatMap((item, i) =>
    ev(t.$do, at + '/$do', bind(scope, name, item.value, inputPathOf(expr, scope, env.record, i)), env)
  );
};

const ifThen: Handler = (t, at, scope, env, ev) => {
  if (conditionAt(env, t.$if as string, scope, at + '/$if')) {
    return ev(t.$then, at + '/$then', scope, env);
  }
  return t.$else === undefined ? [] : ev(t.$else, at + '/$else', scope, env);
};

const letIn: Handler = (t, at, scope, env, ev) =>
  ev(t.$in, at + '/$in', bindAll(t.$let as TemplateObject, at + '/$let', scope, env, ev), env);

const translate: Handler = (t, at, scope, env) => {
  const expr = t.$translate as string;
  const out: unknown[] = [];
  evalAt(env, expr, scope, at + '/$translate').forEach((tv, i) => {
    const inputPath = inputPathOf(expr, scope, env.record, i);
    if (typeof tv.value !== 'string') {
      report(env, at, `'${expr}' must give codes (text), not ${typeof tv.value}`, inputPath);
      return;
    }
    const result = env.maps.translate(t.$map as string, tv.value, { target: t.$target as string | undefined, ns: env.ns });
    if (!result.ok) {
      report(env, at, result.reason, inputPath);
      return;
    }
    const { codings, text } = result.value;
    if (t.$to === 'code') {
      out.push(...codings.map((c) => c.code));
    } else if (t.$to === 'Coding') {
      out.push(...codings);
    } else if (codings.length > 0) {
      out.push({ coding: codings, ...(text ? { text } : {}) });
    }
  });
  return out;
};

function computed(name: ComputedDirective): Handler {
  return (t, at, scope, env) => {
    const expr = t[name] as string;
    return evalAt(env, expr, scope, at + seg(name)).flatMap((tv, i) => {
      if (typeof tv.value !== 'string') {
        report(env, at, `${name} needs text, '${expr}' gave ${typeof tv.value}`, inputPathOf(expr, scope, env.record, i));
        return [];
      }
      return [COMPUTED[name](tv.value)];
    });
  };
}

const minutes: Handler = (t, at, scope, env) => {
  const [startExpr, endExpr] = t.$minutesBetween as [string, string];
  const [start, end] = [startExpr, endExpr].map((e, i) => evalAt(env, e, scope, `${at}/$minutesBetween/${i}`));
  if (start.length !== 1 || end.length !== 1) {
    return [];
  }
  const result = minutesBetween(String(toJson(start[0])), String(toJson(end[0])));
  if (typeof result === 'string') {
    report(env, at, result, inputPathOf(endExpr, scope, env.record, 0));
    return [];
  }
  return [result];
};

const DIRECTIVES: Record<string, Handler> = {
  $each: each,
  $if: ifThen,
  $let: letIn,
  $translate: translate,
  $base64: computed('$base64'),
  $sha1Base64: computed('$sha1Base64'),
  $byteLength: computed('$byteLength'),
  $minutesBetween: minutes,
};

/** The handler of a directive object, or undefined for a plain object. */
export function directiveOf(t: TemplateObject): Handler | undefined {
  const name = Object.keys(t).find((k) => k in DIRECTIVES);
  return name ? DIRECTIVES[name] : undefined;
}
