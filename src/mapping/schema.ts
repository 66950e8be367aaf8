/**
 * Checks a mapping file against mappings/mapping.schema.json with ajv, reporting every problem with
 * its JSON pointer in plain words.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Problem } from '../outcomes.js';

/**
 * Compiles mappings/mapping.schema.json.
 * @throws Error when the schema itself is broken.
 */
export function compileMappingSchema(schemaFile: string): ValidateFunction {
  // allErrors: every problem at once. strict: a typo in a schema keyword fails here, not silently.
  // allowUnionTypes: a template is "string | number | boolean | array | object". strictRequired off:
  // the directive discriminators (`if: { required: ["$each"] }`) test presence of keys they do not
  // declare. logger false: never print.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, logger: false });
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
}

/**
 * Validates a parsed mapping file.
 * @param validate - The compiled mapping schema.
 * @param data - The parsed file.
 * @returns Its problems (none when valid).
 */
export function schemaProblems(validate: ValidateFunction, data: unknown): Problem[] {
  if (validate(data)) {
    return [];
  }
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of validate.errors ?? []) {
    const problem = toProblem(error);
    const id = problem && `${problem.path} ${problem.message}`;
    if (problem && id && !seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  }
  return problems;
}

/** One problem per ajv error, skipping the errors that only summarise others. */
function toProblem(error: ErrorObject): Problem | undefined {
  if (error.keyword === 'if' || error.schemaPath.includes('/propertyNames/')) {
    return undefined;
  }
  const path = error.instancePath || '/';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: child(path, params.additionalProperty), message: `unknown key '${String(params.additionalProperty)}'` };
    case 'propertyNames':
      return {
        path: child(path, params.propertyName),
        message: `'${String(params.propertyName)}' is neither a directive (see mappings/README.md) nor a plain key`,
      };
    case 'required':
      return { path, message: `missing '${String(params.missingProperty)}'` };
    case 'enum':
      return { path, message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

function child(path: string, key: unknown): string {
  return `${path === '/' ? '' : path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
