/**
 * A safety net under every error message: an OperationOutcome answered for a request never quotes the
 * values that request sent (body strings, query values), which may be PHI. Our own messages are written
 * not to quote input; libraries' messages sometimes do ("Invalid date: <value>", "Unknown code <value>").
 * Any input value of 4 or more characters found whole (not inside a longer word) in an issue's text or
 * diagnostics is replaced by `(value)`. Field names, resource types and path ids are not values and stay.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

const MIN_LENGTH = 4;
const MAX_STRINGS = 5000;

/** The string values of a request's body and query (capped, iterative). */
export function inputValues(body: unknown, query: Record<string, unknown> | undefined): string[] {
  const found = new Set<string>();
  const stack: unknown[] = [body, query];
  while (stack.length > 0 && found.size < MAX_STRINGS) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length >= MIN_LENGTH) {
        found.add(v);
      }
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k !== 'resourceType') {
          stack.push(x);
        }
      }
    }
  }
  // Longest first, so a value containing another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}

const WORD = /[\p{L}\p{N}_]/u;

/**
 * Replaces whole occurrences of each value: not inside a longer word, so a query's `kind=note` does not
 * turn "psychotherapy notes" into "psychotherapy (value)s".
 */
function scrub(text: string | undefined, values: string[]): string | undefined {
  if (!text) {
    return text;
  }
  let out = text;
  for (const v of values) {
    let from = 0;
    for (let at = out.indexOf(v, from); at >= 0; at = out.indexOf(v, from)) {
      const before = at > 0 ? out[at - 1] : '';
      const after = out[at + v.length] ?? '';
      const whole = !(WORD.test(before) && WORD.test(v[0])) && !(WORD.test(after) && WORD.test(v[v.length - 1]));
      if (whole) {
        out = `${out.slice(0, at)}(value)${out.slice(at + v.length)}`;
        from = at + '(value)'.length;
      } else {
        from = at + 1;
      }
    }
  }
  return out;
}

function scrubIssue(i: OperationOutcomeIssue, values: string[]): OperationOutcomeIssue {
  const text = scrub(i.details?.text, values);
  const diagnostics = scrub(i.diagnostics, values);
  return {
    ...i,
    ...(i.details ? { details: { ...i.details, text } } : {}),
    ...(i.diagnostics !== undefined ? { diagnostics } : {}),
  };
}

/** The outcome with every quoted input value replaced. */
export function redactEchoes(outcome: OperationOutcome, values: string[]): OperationOutcome {
  if (values.length === 0) {
    return outcome;
  }
  return { ...outcome, issue: outcome.issue?.map((i) => scrubIssue(i, values)) };
}
