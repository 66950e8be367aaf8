/**
 * `parquet`: written with hyparquet-writer, one row group per `rowGroupSize` rows (default 50,000) or
 * per `rowGroupBytes` of values (default 2 MiB, counted as text length), whichever comes first, so
 * memory stays bounded by one row group however many rows the view yields. The byte bound matters: a
 * group is held as JS values and then encoded by the writer with several copies of each value, and
 * 50,000 de-identified rows (64-character pseudonyms) took the process to 500-600 MB peak RSS at
 * 100,000 resources (docs/benchmarks.md, "Views at scale"). Each finished row group is handed on as
 * it is written; the footer follows the last one.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { Row } from '../sof/types.js';
import { kindOf, parquetSchema, storedValue, type ParquetKind } from './parquet-schema.js';
import type { EncoderOptions, RowEncoder } from './types.js';

const DEFAULT_ROW_GROUP_SIZE = 50_000;
const DEFAULT_ROW_GROUP_BYTES = 2 * 1024 * 1024;

/** A hyparquet-writer sink that hands out what was written at each flush instead of keeping it. */
class ChunkWriter extends ByteWriter {
  private readonly done: Uint8Array[] = [];

  flush(): void {
    if (this.index > 0) {
      this.done.push(new Uint8Array(this.buffer.slice(0, this.index)));
      this.index = 0;
    }
  }

  /** The bytes flushed since the last call, in one chunk. */
  takeChunks(): Uint8Array | undefined {
    if (this.done.length === 0) {
      return undefined;
    }
    const chunk = Buffer.concat(this.done);
    this.done.length = 0;
    return chunk;
  }
}

export function parquetEncoder(options: EncoderOptions): RowEncoder {
  const columns = options.columns;
  const kinds: ParquetKind[] = columns.map(kindOf);
  const groupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  const groupBytes = options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
  const sink = new ChunkWriter();
  const writer = new ParquetWriter({ writer: sink, schema: parquetSchema(columns), createdBy: 'collateral-fhir' });
  let data: unknown[][] = columns.map(() => []);
  let count = 0;
  let bytes = 0;

  const writeGroup = (): void => {
    if (count === 0) {
      return;
    }
    const result = writer.write({
      columnData: columns.map((c, i) => ({ name: c.name, data: data[i] as never })),
      rowGroupSize: count,
    });
    if (result instanceof Promise) {
      throw new Error('parquet: unexpected asynchronous write'); // our sink is synchronous
    }
    data = columns.map(() => []);
    count = 0;
    bytes = 0;
  };

  return {
    contentType: 'application/vnd.apache.parquet',
    row(row: Row) {
      for (let i = 0; i < columns.length; i++) {
        const value = row[columns[i].name];
        const stored = columns[i].collection
          ? Array.isArray(value)
            ? value.map((v) => storedValue(v, kinds[i]))
            : null
          : storedValue(value, kinds[i]);
        data[i].push(stored);
        bytes += sizeOf(stored);
      }
      count++;
      if (count >= groupSize || bytes >= groupBytes) {
        writeGroup();
        return sink.takeChunks();
      }
      return undefined;
    },
    end() {
      writeGroup();
      void writer.finish();
      sink.flush();
      return sink.takeChunks() ?? new Uint8Array();
    },
  };
}

/** A value's size for the row group bound: text length for strings, 8 for anything else. */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') {
    return value.length;
  }
  if (Array.isArray(value)) {
    let n = 8;
    for (const v of value) {
      n += sizeOf(v);
    }
    return n;
  }
  return 8;
}
