/**
 * The Parquet schema of a view: one column per output column, typed from the column's FHIR type hint.
 * Dates and times stay ISO text: a FHIR date may be partial (2026, 2026-02) and a dateTime keeps
 * its own offset, so a Parquet DATE or TIMESTAMP would lose information; cast them in the engine
 * (docs/analytics.md). A collection column is a Parquet LIST of its element type.
 */
import type { SchemaElement } from 'hyparquet-writer';
import type { OutputColumn } from '../sof/types.js';

/** How values of a column are stored. */
export type ParquetKind = 'string' | 'boolean' | 'int32' | 'int64' | 'double' | 'json';

/** FHIR primitive type -> storage; anything else (complex types, no hint) is JSON text. */
const KINDS: Record<string, ParquetKind> = {
  string: 'string',
  code: 'string',
  id: 'string',
  uri: 'string',
  url: 'string',
  canonical: 'string',
  markdown: 'string',
  oid: 'string',
  uuid: 'string',
  base64Binary: 'string',
  date: 'string',
  dateTime: 'string',
  instant: 'string',
  time: 'string',
  boolean: 'boolean',
  integer: 'int32',
  positiveInt: 'int32',
  unsignedInt: 'int32',
  integer64: 'int64',
  decimal: 'double',
};

/** The storage of a column's values (the element type, for a collection). */
export function kindOf(column: OutputColumn): ParquetKind {
  const type = column.type?.replace(/^http:\/\/hl7\.org\/fhir\/StructureDefinition\//, '');
  return (type && KINDS[type]) || 'json';
}

function leaf(name: string, kind: ParquetKind): SchemaElement {
  switch (kind) {
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' };
    case 'int32':
      return { name, type: 'INT32', repetition_type: 'OPTIONAL' };
    case 'int64':
      return { name, type: 'INT64', repetition_type: 'OPTIONAL' };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
    case 'json':
      return { name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' };
    default:
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
  }
}

/**
 * The schema elements (depth-first, root first) of a view's columns.
 * See: https://github.com/apache/parquet-format/blob/master/LogicalTypes.md#lists
 */
export function parquetSchema(columns: readonly OutputColumn[]): SchemaElement[] {
  const elements: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const c of columns) {
    if (c.collection) {
      elements.push(
        { name: c.name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        leaf('element', kindOf(c))
      );
    } else {
      elements.push(leaf(c.name, kindOf(c)));
    }
  }
  return elements;
}

/** A value converted for storage of its kind (null when it does not fit: never a wrong value). */
export function storedValue(value: unknown, kind: ParquetKind): unknown {
  if (value === null || value === undefined) {
    return null;
  }
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'int32':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'int64':
      return typeof value === 'number' || typeof value === 'string' ? toBigInt(value) : null;
    case 'double':
      return typeof value === 'number' ? value : null;
    case 'json':
      return JSON.stringify(value);
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function toBigInt(value: number | string): bigint | null {
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}
