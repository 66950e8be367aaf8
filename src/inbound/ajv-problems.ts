/**
 * Turns ajv errors into Problems: a JSON Pointer to the offending field and a message in plain words.
 * Messages never repeat the input value (it may be PHI and messages end up in logs); they say what
 * the field must be instead.
 */
import type { ErrorObject } from 'ajv';
import type { Problem } from '../outcomes.js';
import { join } from './pointer.js';

const DATE_TIME_MESSAGE = 'must be a date and time with seconds and a time-zone offset, like 2026-02-01T16:00:00-05:00';

// Messages for the schema patterns, keyed by the pattern itself, so the schemas stay plain JSON Schema.
const PATTERN_MESSAGES: Record<string, string> = {
  '^[A-Za-z0-9._-]{1,64}$': "must be an id of 1-64 characters, each a letter, digit, '.', '_' or '-'",
  '^[0-9]{10}$': 'must be a 10-digit NPI',
  '^[A-Za-z0-9._:/-]{1,64}$': "must be an MRN of 1-64 characters, each a letter, digit, '.', '_', ':', '/' or '-'",
  '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$': 'must be a BCP-47 language tag, like es or pt-BR',
  '^[A-Za-z0-9+/]*={0,2}$': "must be base64 (letters, digits, '+' and '/', '=' padding, no line breaks)",
  '^text/(plain|markdown|html|rtf)(; ?charset=(utf-8|UTF-8))?$':
    'must be one of: text/plain, text/markdown, text/html, text/rtf (optionally with "; charset=utf-8")',
};

const FORMAT_MESSAGES: Record<string, string> = {
  date: 'must be a calendar date, like 2026-01-10',
  'date-time': DATE_TIME_MESSAGE,
};

const TYPE_WORDS: Record<string, string> = {
  object: 'a JSON object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  null: 'null',
};

function typeMessage(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]).map((t) => TYPE_WORDS[String(t)] ?? String(t));
  return `must be ${types.join(' or ')}`;
}

function listValues(values: unknown): string {
  return (Array.isArray(values) ? values : [values]).map((v) => (v === null ? 'null' : String(v))).join(', ');
}

function patternMessage(pattern: string): string {
  if (pattern.includes('T[0-9]{2}:[0-9]{2}:[0-9]{2}')) {
    return DATE_TIME_MESSAGE; // the date-time shape pattern and its format say the same thing
  }
  return PATTERN_MESSAGES[pattern] ?? `must match the pattern ${pattern}`;
}

function allowedFields(parentSchema: unknown): string {
  const properties = (parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  const names = properties ? Object.keys(properties) : [];
  return names.length ? ` (allowed here: ${names.join(', ')})` : '';
}

/** One problem for one ajv error, or undefined for errors that only echo another (`if`). */
function toProblem(e: ErrorObject, prefix: string): Problem | undefined {
  const at = prefix + e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
      return undefined; // "must match then schema": the errors inside `then` say what is wrong
    case 'required':
      return { path: join(at, String(p.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return {
        path: join(at, String(p.additionalProperty)),
        message: `is not a field of the contract${allowedFields(e.parentSchema)}`,
      };
    case 'enum':
      return { path: at, message: `must be one of: ${listValues(p.allowedValues)}` };
    case 'const':
      return { path: at, message: `must be ${listValues(p.allowedValue)}` };
    case 'type':
      return { path: at, message: typeMessage(p.type) };
    case 'pattern':
      return { path: at, message: patternMessage(String(p.pattern)) };
    case 'format':
      return { path: at, message: FORMAT_MESSAGES[String(p.format)] ?? `must be a valid ${String(p.format)}` };
    case 'minLength':
      return { path: at, message: p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters` };
    case 'maxLength':
      return { path: at, message: `must be at most ${String(p.limit)} characters` };
    case 'minItems':
      return { path: at, message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path: at, message: `must have at most ${String(p.limit)} items` };
    case 'minProperties':
      return { path: at, message: 'must not be empty' };
    case 'uniqueItems': {
      // Point at the later copy and name the earlier one (ajv's i and j order is an implementation detail).
      const [first, repeat] = [Number(p.i), Number(p.j)].sort((a, b) => a - b);
      return { path: join(at, repeat), message: `repeats item ${first} (duplicates are not allowed)` };
    }
    default:
      return { path: at, message: e.message ?? `fails the ${e.keyword} rule` };
  }
}

/**
 * Converts ajv errors to Problems, dropping duplicates (same path and message: a value that fails both
 * a shape pattern and a format, or a record that is not an object under two schemas).
 * @param errors - `validate.errors` after a failed validation.
 * @param prefix - a JSON Pointer to prepend to every path (`/record` for import lines).
 */
export function ajvProblems(errors: readonly ErrorObject[] | null | undefined, prefix = ''): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const e of errors ?? []) {
    const problem = toProblem(e, prefix);
    const key = problem && `${problem.path}\u0000${problem.message}`;
    if (problem && key && !seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}
