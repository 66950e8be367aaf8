/**
 * A readable structural diff of two JSON values: one line per differing leaf, with its JSON pointer,
 * the expected (or old) and the actual (or new) value. Used by test-mappings (golden cases) and by
 * remap --diff (stored vs current mapping output).
 */

/** One difference: where, and the two values (undefined = absent). */
export interface Difference {
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * Lists the differences between two JSON values.
 * @param before - Expected (golden) or old value.
 * @param after - Actual or new value.
 * @returns Differences in document order; empty when equal.
 */
export function diffJson(before: unknown, after: unknown, path = ''): Difference[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => diffJson(before[k], after[k], `${path}/${escape(k)}`));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => diffJson(before[i], after[i], `${path}/${i}`)).flat();
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path || '/', before, after }];
}

/**
 * The differences as text lines, e.g. `  /status: "planned" -> "finished"`.
 * @param labels - Words for the two sides (default expected/actual).
 */
export function formatDiff(diffs: Difference[], labels: [string, string] = ['expected', 'actual'], indent = '  '): string[] {
  return diffs.map((d) => {
    if (d.before === undefined) {
      return `${indent}${d.path}: ${labels[0]} absent, ${labels[1]} ${show(d.after)}`;
    }
    if (d.after === undefined) {
      return `${indent}${d.path}: ${labels[0]} ${show(d.before)}, ${labels[1]} absent`;
    }
    return `${indent}${d.path}: ${labels[0]} ${show(d.before)}, ${labels[1]} ${show(d.after)}`;
  });
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
