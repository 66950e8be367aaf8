/**
 * `parquet`: written with hyparquet-writer, one row group per `rowGroupSize` rows (default 50,000),
 * so memory stays bounded by one row group however many rows the view yields. Each finished row
 * group is handed on as it is written; the footer follows the last one.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { Row } from '../sof/types.js';
import { kindOf, parquetSchema, storedValue, type ParquetKind } from './parquet-schema.js';
import type { EncoderOptions, RowEncoder } from './types.js';

const DEFAULT_ROW_GROUP_SIZE = 50_000;

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
  const sink = new ChunkWriter();
  const writer = new ParquetWriter({ writer: sink, schema: parquetSchema(columns), createdBy: 'collateral-fhir' });
  let data: unknown[][] = columns.map(() => []);
  let count = 0;

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
  };

  return {
    contentType: 'application/vnd.apache.parquet',
    row(row: Row) {
      for (let i = 0; i < columns.length; i++) {
        const value = row[columns[i].name];
        data[i].push(
          columns[i].collection
            ? Array.isArray(value)
              ? value.map((v) => storedValue(v, kinds[i]))
              : null
            : storedValue(value, kinds[i])
        );
      }
      count++;
      if (count >= groupSize) {
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
