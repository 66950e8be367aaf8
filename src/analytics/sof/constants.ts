/**
 * ViewDefinition constants: `{ name, value[x] }` becomes the FHIRPath variable `%name`, typed by the
 * value[x] suffix (valueDate -> date), so comparisons with resource elements follow FHIRPath typing.
 */
import type { TypedValue } from '@medplum/core';

/** The value[x] types a constant may carry (ViewDefinition.constant.value[x]), with the JSON type of each. */
export const CONSTANT_TYPES: Readonly<Record<string, 'string' | 'number' | 'integer' | 'boolean'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'integer',
  integer64: 'string',
  oid: 'string',
  string: 'string',
  positiveInt: 'integer',
  time: 'string',
  unsignedInt: 'integer',
  uri: 'string',
  url: 'string',
  uuid: 'string',
};

/** The FHIR type named by a `value[x]` key (`valueDateTime` -> `dateTime`), or undefined when it is not one. */
export function constantType(key: string): string | undefined {
  if (!/^value[A-Z]/.test(key)) {
    return undefined;
  }
  const type = key.charAt(5).toLowerCase() + key.slice(6);
  return type in CONSTANT_TYPES ? type : undefined;
}

/** The `value[x]` keys of a constant. */
export function valueKeys(constant: Record<string, unknown>): string[] {
  return Object.keys(constant).filter((k) => k.startsWith('value'));
}

/** A valid constant as a typed FHIRPath value. */
export function constantValue(constant: Record<string, unknown>): TypedValue {
  const key = valueKeys(constant)[0];
  return { type: constantType(key) ?? 'string', value: constant[key] };
}

/** Variables every expression may use besides the view's constants and %rowIndex. */
export const STANDARD_VARIABLES: readonly string[] = ['resource', 'rootResource', 'ucum', 'sct', 'loinc'];

export const ROW_INDEX = 'rowIndex';
