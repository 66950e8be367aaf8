/**
 * The output writers: CSV by RFC 4180, JSON and NDJSON as parseable text whatever the chunking, and
 * Parquet written by hyparquet-writer read back by hyparquet (the reader), values, types and row
 * groups included.
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { createEncoder, csvField, type OutputFormat } from '../../src/analytics/output/index.js';
import type { OutputColumn, Row } from '../../src/analytics/sof/types.js';

function encode(format: OutputFormat, columns: OutputColumn[], rows: Row[], extra: { header?: boolean; rowGroupSize?: number; rowGroupBytes?: number } = {}): { bytes: Buffer; chunks: number } {
  const encoder = createEncoder(format, { columns, ...extra });
  const parts: Uint8Array[] = [];
  for (const row of rows) {
    const chunk = encoder.row(row);
    if (chunk) {
      parts.push(chunk);
    }
  }
  parts.push(encoder.end());
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

const columns: OutputColumn[] = [
  { name: 'id', type: 'id', collection: false },
  { name: 'n', type: 'integer', collection: false },
  { name: 'x', type: 'decimal', collection: false },
  { name: 'ok', type: 'boolean', collection: false },
  { name: 'when', type: 'dateTime', collection: false },
  { name: 'codes', type: 'code', collection: true },
  { name: 'big', type: 'integer64', collection: false },
  { name: 'obj', collection: false },
];

const rows: Row[] = [
  { id: 'a', n: 1, x: 1.5, ok: true, when: '2026-02-01T16:00:00-05:00', codes: ['X', 'Y'], big: '9007199254740993', obj: { k: 'v' } },
  { id: 'b', n: null, x: null, ok: false, when: null, codes: [], big: null, obj: null },
  { id: 'c,"d"\r\n', n: -7, x: 0.1, ok: null, when: '2026', codes: ['Z'], big: '-5', obj: [1, 2] },
];

describe('CSV (RFC 4180)', () => {
  test('quotes a field holding a comma, a double quote, CR or LF, doubling inner quotes; nothing else', () => {
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField(' spaced ')).toBe(' spaced ');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');
    expect(csvField(false)).toBe('false');
    expect(csvField(['X', 'Y'])).toBe('"[""X"",""Y""]"');
  });

  test('a header line of the column names, CRLF line ends, one line per row', () => {
    const text = encode('csv', columns, rows).bytes.toString('utf8');
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('id,n,x,ok,when,codes,big,obj');
    expect(lines[1]).toBe('a,1,1.5,true,2026-02-01T16:00:00-05:00,"[""X"",""Y""]",9007199254740993,"{""k"":""v""}"');
    expect(lines[2]).toBe('b,,,false,,[],,');
    expect(text).toContain('"c,""d""\r\n",-7,0.1,,2026,"[""Z""]",-5,"[1,2]"\r\n');
    expect(text.endsWith('\r\n')).toBe(true);
  });

  test('header false leaves the header out', () => {
    expect(encode('csv', columns, rows.slice(0, 1), { header: false }).bytes.toString('utf8').startsWith('a,1,')).toBe(true);
  });
});

describe('JSON and NDJSON', () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ id: `r${i}`, n: i, x: i / 2, ok: i % 2 === 0, when: null, codes: ['A'], big: null, obj: null }));

  test('json is one array of rows with keys in column order, streamed in several chunks', () => {
    const { bytes, chunks } = encode('json', columns, many);
    expect(chunks).toBeGreaterThan(3);
    const parsed = JSON.parse(bytes.toString('utf8'));
    expect(parsed).toHaveLength(5000);
    expect(Object.keys(parsed[0])).toStrictEqual(columns.map((c) => c.name));
    expect(parsed[4999]).toStrictEqual(many[4999]);
  });

  test('json of no rows is []', () => {
    expect(encode('json', columns, []).bytes.toString('utf8')).toBe('[]');
  });

  test('ndjson is one object per line; a missing value is null', () => {
    const text = encode('ndjson', columns, [{ id: 'only' }]).bytes.toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text.trim())).toStrictEqual({ id: 'only', n: null, x: null, ok: null, when: null, codes: null, big: null, obj: null });
  });
});

describe('Parquet, read back by hyparquet', () => {
  const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

  test('values, nulls, lists and types survive the round trip', async () => {
    const file = toArrayBuffer(encode('parquet', columns, rows).bytes);
    const back = await parquetReadObjects({ file });
    expect(back).toHaveLength(3);
    expect(back[0]).toMatchObject({ id: 'a', n: 1, x: 1.5, ok: true, when: '2026-02-01T16:00:00-05:00', codes: ['X', 'Y'], big: 9007199254740993n });
    expect(back[1]).toMatchObject({ id: 'b', n: null, x: null, ok: false, when: null, codes: [], big: null, obj: null });
    expect(back[2]).toMatchObject({ id: 'c,"d"\r\n', n: -7, x: 0.1, ok: null, when: '2026', codes: ['Z'], big: -5n });
    // A column without a FHIR type is JSON text (hyparquet parses the JSON logical type).
    expect([back[0].obj, back[2].obj].map((v) => (typeof v === 'string' ? JSON.parse(v) : v))).toStrictEqual([{ k: 'v' }, [1, 2]]);

    const schema = parquetSchema(parquetMetadata(file));
    const types = Object.fromEntries(schema.children.map((c) => [c.element.name, c.element.type ?? c.element.converted_type]));
    expect(types).toMatchObject({ id: 'BYTE_ARRAY', n: 'INT32', x: 'DOUBLE', ok: 'BOOLEAN', when: 'BYTE_ARRAY', codes: 'LIST', big: 'INT64', obj: 'BYTE_ARRAY' });
  });

  test('rows go out one row group at a time', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ id: `r${i}`, n: i, x: null, ok: null, when: null, codes: [`c${i % 3}`], big: null, obj: null }));
    const { bytes, chunks } = encode('parquet', columns, many, { rowGroupSize: 1000 });
    expect(chunks).toBe(3); // two full groups while rows arrive, the last group and the footer at the end
    const file = toArrayBuffer(bytes);
    expect(parquetMetadata(file).row_groups.map((g) => Number(g.num_rows))).toStrictEqual([1000, 1000, 500]);
    const back = await parquetReadObjects({ file });
    expect(back.map((r) => r.n)).toStrictEqual(many.map((r) => r.n));
    expect(back[2499]).toMatchObject({ id: 'r2499', codes: ['c0'] });
  });

  test('a row group also ends at its byte bound: long values make smaller groups, the rows unchanged', async () => {
    const long = 'k'.repeat(64); // a pseudonym's length
    const many = Array.from({ length: 2500 }, (_, i) => ({ id: `${long}${i}`, n: i, x: null, ok: null, when: null, codes: [long], big: null, obj: null }));
    // About 64 + 4 + 64 + 8 * 7 characters a row: 40,000 ends a group every 200-odd rows.
    const file = toArrayBuffer(encode('parquet', columns, many, { rowGroupSize: 1000, rowGroupBytes: 40_000 }).bytes);
    const groups = parquetMetadata(file).row_groups.map((g) => Number(g.num_rows));
    expect(groups.length).toBeGreaterThan(10);
    expect(Math.max(...groups)).toBeLessThan(1000);
    expect(groups.reduce((a, b) => a + b, 0)).toBe(2500);
    const back = await parquetReadObjects({ file });
    expect(back.map((r) => r.id)).toStrictEqual(many.map((r) => r.id));
  });

  test('no rows is still a valid file', async () => {
    const file = toArrayBuffer(encode('parquet', columns, []).bytes);
    expect(Number(parquetMetadata(file).num_rows)).toBe(0);
    expect(await parquetReadObjects({ file })).toStrictEqual([]);
  });
});
