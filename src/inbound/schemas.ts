/**
 * Loads the inbound JSON Schemas (schemas/inbound/*.schema.json) and compiles each once, on first use.
 * The schemas are data, shared with other tools and documented in schemas/inbound/README.md; this
 * module only turns them into ajv validators.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { RecordKind } from '../domain/records.js';
import { projectRoot } from '../paths.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module
// object as far as TypeScript knows, while at run time it is the plugin function itself.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as typeof addFormatsModule.default;

const SCHEMA_FILES = [
  'common.schema.json',
  'participant.schema.json',
  'consent.schema.json',
  'session.schema.json',
  'note.schema.json',
  'import-line.schema.json',
] as const;

/** The `$id` base every inbound schema shares; `$ref`s between them are relative to it. */
export const SCHEMA_BASE = 'https://collateral-fhir.example.org/schemas/inbound/';

interface Compiled {
  records: Record<RecordKind, ValidateFunction>;
  importLine: ValidateFunction;
}

let compiled: Compiled | undefined;

function build(): Compiled {
  // allErrors: report every problem at once. strict: a typo in a schema keyword fails at load, not
  // silently at run time. allowUnionTypes: nullable fields are written `"type": ["string", "null"]`.
  // verbose: errors carry their parentSchema, used to list the allowed fields of an object.
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  addFormats(ajv, ['date', 'date-time']);
  const dir = join(projectRoot(), 'schemas', 'inbound');
  for (const file of SCHEMA_FILES) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object);
  }
  const get = (file: string): ValidateFunction => {
    const validate = ajv.getSchema(SCHEMA_BASE + file);
    if (!validate) {
      throw new Error(`collateral-fhir: inbound schema ${file} did not compile`);
    }
    return validate;
  };
  return {
    records: {
      participant: get('participant.schema.json'),
      consent: get('consent.schema.json'),
      session: get('session.schema.json'),
      note: get('note.schema.json'),
    },
    importLine: get('import-line.schema.json'),
  };
}

/** The compiled validator for one record kind. */
export function recordValidator(kind: RecordKind): ValidateFunction {
  compiled ??= build();
  return compiled.records[kind];
}

/** The compiled validator for one NDJSON import line (`{ kind, record }`, record checked by kind). */
export function importLineValidator(): ValidateFunction {
  compiled ??= build();
  return compiled.importLine;
}
