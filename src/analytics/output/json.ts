/**
 * `json`: one JSON array of row objects (keys in column order), as the SQL-on-FHIR operation
 * defines it; streamed element by element.
 */
import type { Row } from '../sof/types.js';
import { TextBatch } from './text-batch.js';
import type { EncoderOptions, RowEncoder } from './types.js';
import { orderedRow } from './values.js';

export function jsonEncoder(options: EncoderOptions): RowEncoder {
  const batch = new TextBatch();
  const names = options.columns.map((c) => c.name);
  let first = true;
  return {
    contentType: 'application/json',
    row(row: Row) {
      const text = JSON.stringify(orderedRow(row, names));
      const chunk = batch.add(first ? `[${text}` : `,${text}`);
      first = false;
      return chunk;
    },
    end() {
      batch.add(first ? '[]' : ']');
      return batch.take();
    },
  };
}
