/**
 * Flattens the inbound JSON Schemas (schemas/inbound/) into one row per field, the shape docs/contract.md
 * documents them in: a dotted path (`telecom[].system`), the JSON type, whether the field is required in
 * its parent object, the closed list of values and the numeric limits. The contract test compares these
 * rows with the tables of the doc, both ways.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

/** One field of a record kind, as the schema defines it. */
export interface SchemaField {
  /** `client.mrn`, `telecom[].system`, `participants[].participantId`. */
  path: string;
  /** `string`, `string or null`, `array of string`, `object or null`, `boolean`. */
  type: string;
  /** Required in its parent object. */
  required: boolean;
  /** The closed list (of the value, or of the array's items), when the schema has one. */
  values?: string[];
  /** minLength, maxLength, minItems, maxItems. */
  limits: number[];
}

type Schema = Record<string, any>;

const DIR = join(projectRoot(), 'schemas', 'inbound');

/** The schema files the contract documents, by section name in the doc. */
export const DOCUMENTED_SCHEMAS = {
  participant: 'participant.schema.json',
  consent: 'consent.schema.json',
  session: 'session.schema.json',
  note: 'note.schema.json',
  'import line': 'import-line.schema.json',
} as const;

function load(file: string): Schema {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Schema;
}

/** Follows `$ref`s (`common.schema.json#/$defs/id`, `#/$defs/npi`) until a schema with content. */
function resolve(schema: Schema, file: string): { schema: Schema; file: string } {
  let s = schema;
  let f = file;
  while (typeof s.$ref === 'string') {
    const [target, pointer] = (s.$ref as string).split('#');
    if (target) {
      f = target;
    }
    let next: any = load(f);
    for (const part of (pointer ?? '').split('/').filter(Boolean)) {
      next = next[part];
    }
    if (!next) {
      throw new Error(`${file}: cannot resolve ${s.$ref}`);
    }
    s = next as Schema;
  }
  return { schema: s, file: f };
}

function typesOf(s: Schema): string[] {
  if (Array.isArray(s.type)) {
    return s.type as string[];
  }
  if (typeof s.type === 'string') {
    return [s.type];
  }
  return s.properties ? ['object'] : [];
}

function typeText(s: Schema, file: string): string {
  const parts = typesOf(s).map((t) => {
    if (t !== 'array') {
      return t;
    }
    const item = resolve(s.items ?? {}, file).schema;
    return `array of ${typesOf(item).join(' or ') || 'any'}`;
  });
  // null last, as the doc writes it: "string or null".
  parts.sort((a, b) => Number(a === 'null') - Number(b === 'null'));
  return parts.join(' or ');
}

function limitsOf(s: Schema): number[] {
  return ['minLength', 'maxLength', 'minItems', 'maxItems'].flatMap((k) => (typeof s[k] === 'number' ? [s[k] as number] : []));
}

function walk(schema: Schema, file: string, prefix: string, out: SchemaField[]): void {
  const required = new Set<string>(schema.required ?? []);
  for (const [name, raw] of Object.entries<Schema>(schema.properties ?? {})) {
    const { schema: s, file: f } = resolve(raw, file);
    const path = `${prefix}${name}`;
    const item = typesOf(s).includes('array') ? resolve(s.items ?? {}, f) : undefined;
    const values = (s.enum ?? item?.schema.enum) as string[] | undefined;
    out.push({
      path,
      type: typeText(s, f),
      required: required.has(name),
      ...(values ? { values: values.map(String) } : {}),
      limits: [...limitsOf(s), ...(item ? limitsOf(item.schema) : [])],
    });
    if (s.properties) {
      walk(s, f, `${path}.`, out);
    }
    if (item?.schema.properties) {
      walk(item.schema, item.file, `${path}[].`, out);
    }
  }
}

/**
 * Every field of one schema file, in schema order.
 * @param file - e.g. participant.schema.json.
 */
export function schemaFields(file: string): SchemaField[] {
  const out: SchemaField[] = [];
  walk(load(file), file, '', out);
  return out;
}
