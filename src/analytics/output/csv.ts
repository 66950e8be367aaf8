/**
 * `csv`: RFC 4180. CRLF line ends; a field is quoted when it holds a comma, a double quote, CR or LF
 * (inner quotes doubled); null is an empty field; lists and objects are JSON text. The header line
 * (the column names) unless `header` is false.
 * See: https://www.rfc-editor.org/rfc/rfc4180
 */
import type { Row } from '../sof/types.js';
import { TextBatch } from './text-batch.js';
import type { EncoderOptions, RowEncoder } from './types.js';
import { asText } from './values.js';

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field. */
export function csvField(value: unknown): string {
  const text = asText(value);
  if (text === null) {
    return '';
  }
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvEncoder(options: EncoderOptions): RowEncoder {
  const batch = new TextBatch();
  const names = options.columns.map((c) => c.name);
  if (options.header !== false) {
    batch.add(`${names.map(csvField).join(',')}\r\n`);
  }
  return {
    contentType: 'text/csv; charset=utf-8',
    row(row: Row) {
      let line = '';
      for (let i = 0; i < names.length; i++) {
        line += i === 0 ? csvField(row[names[i]]) : `,${csvField(row[names[i]])}`;
      }
      return batch.add(`${line}\r\n`);
    },
    end() {
      return batch.take();
    },
  };
}
