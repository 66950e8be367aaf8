/**
 * The output side of a view run: an encoder turns rows into bytes of one format, incrementally, so
 * a run streams however many rows it yields.
 */
import type { OutputColumn, Row } from '../sof/types.js';

/** The formats of `_format` (the SQL-on-FHIR OutputFormatCodes we serve). */
export const OUTPUT_FORMATS = ['json', 'ndjson', 'csv', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Encodes rows of one view in one format. */
export interface RowEncoder {
  /** The HTTP Content-Type of the output. */
  readonly contentType: string;
  /**
   * Encodes one row.
   * @returns Bytes ready to send (the encoder batches them, roughly 64 KiB at a time), or undefined.
   */
  row(row: Row): Uint8Array | undefined;
  /** Ends the output: the remaining bytes (the closing bracket, the last row group and footer...). */
  end(): Uint8Array;
}

/** What an encoder needs to know. */
export interface EncoderOptions {
  /** The view's columns, in output order. */
  columns: readonly OutputColumn[];
  /** CSV only: write the header line (default true). */
  header?: boolean;
  /** Parquet only: rows per row group (default 50,000). */
  rowGroupSize?: number;
  /** Parquet only: a row group ends once its values reach this many characters (default 2 MiB). */
  rowGroupBytes?: number;
}
