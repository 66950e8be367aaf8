/**
 * Output writers of view runs: json, ndjson, csv, parquet. See README.md beside this file.
 */
import { csvEncoder } from './csv.js';
import { jsonEncoder } from './json.js';
import { ndjsonEncoder } from './ndjson.js';
import { parquetEncoder } from './parquet.js';
import { OUTPUT_FORMATS, type EncoderOptions, type OutputFormat, type RowEncoder } from './types.js';

export { OUTPUT_FORMATS, type EncoderOptions, type OutputFormat, type RowEncoder } from './types.js';
export { csvField } from './csv.js';

const ENCODERS: Record<OutputFormat, (options: EncoderOptions) => RowEncoder> = {
  json: jsonEncoder,
  ndjson: ndjsonEncoder,
  csv: csvEncoder,
  parquet: parquetEncoder,
};

/** Media types accepted as `_format` besides the codes, for clients that send those. */
const ALIASES: Record<string, OutputFormat> = {
  'application/json': 'json',
  'application/fhir+json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/fhir+ndjson': 'ndjson',
  'text/csv': 'csv',
  'application/vnd.apache.parquet': 'parquet',
  'application/parquet': 'parquet',
};

/** The format named by a `_format` value, or undefined when we do not serve it. */
export function outputFormatOf(value: string): OutputFormat | undefined {
  const v = value.trim().toLowerCase();
  return (OUTPUT_FORMATS as readonly string[]).includes(v) ? (v as OutputFormat) : ALIASES[v];
}

/** An encoder for a format. */
export function createEncoder(format: OutputFormat, options: EncoderOptions): RowEncoder {
  return ENCODERS[format](options);
}
