/** `ndjson`: one JSON object per row, one row per line (keys in column order). */
import type { Row } from '../sof/types.js';
import { TextBatch } from './text-batch.js';
import type { EncoderOptions, RowEncoder } from './types.js';
import { orderedRow } from './values.js';

export function ndjsonEncoder(options: EncoderOptions): RowEncoder {
  const batch = new TextBatch();
  const names = options.columns.map((c) => c.name);
  return {
    contentType: 'application/x-ndjson',
    row(row: Row) {
      return batch.add(`${JSON.stringify(orderedRow(row, names))}\n`);
    },
    end() {
      return batch.take();
    },
  };
}
