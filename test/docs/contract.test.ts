/**
 * docs/contract.md against the inbound JSON Schemas (issue #14 item 1): every property, type, required
 * flag, closed-list value and length limit of schemas/inbound/ is in the doc's field tables, and the
 * doc names nothing the schemas lack; the doc's sync states are exactly the store's.
 */
import { validateRecord } from '../../src/inbound/validate.js';
import type { RecordKind } from '../../src/domain/records.js';
import { compareFields, closedList, numbersIn } from './contract-check.js';
import { markers, repoFile, tableAfter } from './markdown.js';
import { DOCUMENTED_SCHEMAS, schemaFields } from './schema-fields.js';

const DOC = 'docs/contract.md';
const doc = repoFile(DOC);

describe('docs/contract.md matches schemas/inbound', () => {
  test('every record schema has a field table, and every table names a schema', () => {
    expect(markers(doc, 'fields').sort()).toEqual(Object.values(DOCUMENTED_SCHEMAS).sort());
  });

  test.each(Object.values(DOCUMENTED_SCHEMAS))('%s: fields, types, required, closed lists and limits', (file) => {
    expect(compareFields(file, schemaFields(file), tableAfter(doc, `fields: ${file}`))).toEqual([]);
  });

  test.each(['participant', 'consent', 'session', 'note'] as RecordKind[])('the %s example is a valid record', (kind) => {
    const section = doc.split(`\n## ${kind[0].toUpperCase()}${kind.slice(1)}\n`)[1] ?? '';
    const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(example).toBeDefined();
    expect(() => validateRecord(kind, JSON.parse(example as string))).not.toThrow();
  });

  test('the sync states are the store’s (src/store/types.ts SyncStateName)', () => {
    const m = /export type SyncStateName =([^;]+);/.exec(repoFile('src/store/types.ts'));
    const states = [...(m?.[1] ?? '').matchAll(/'([a-z-]+)'/g)].map((x) => x[1]);
    expect(states.length).toBeGreaterThan(5);
    const documented = tableAfter(doc, 'sync-states').map((r) => r.cells[0].replace(/`/g, ''));
    expect(documented.sort()).toEqual(states.sort());
  });
});

describe('the comparison finds drift (so the test above can fail)', () => {
  const file = 'note.schema.json';
  const fields = schemaFields(file);
  const rows = tableAfter(doc, `fields: ${file}`);
  const edit = (path: string, change: (cells: string[]) => string[]): typeof rows =>
    rows.map((r) => (r.cells[0] === `\`${path}\`` ? { ...r, cells: change([...r.cells]) } : r));

  const has = (...parts: string[]): unknown => expect.arrayContaining(parts.map((p) => expect.stringContaining(p)));

  test('a field missing from the doc, and one the schema lacks', () => {
    const withoutText = rows.filter((r) => r.cells[0] !== '`text`');
    const withExtra = [...rows, { cells: ['`title`', 'string', 'no', 'A title.'], line: 0 }];
    expect(compareFields(file, fields, withoutText)).toEqual(has('`text` (string) is not documented'));
    expect(compareFields(file, fields, withExtra)).toEqual(has('names `title`, which the schema does not have'));
  });

  test('a closed-list value missing or extra, a wrong type, a wrong required flag, a limit not stated', () => {
    const values = edit('kind', (c) => [c[0], c[1], c[2], 'one of `session-summary`, `progress-note`, `intake-note`.']);
    expect(compareFields(file, fields, values)).toEqual(has('lacks the value(s) psychotherapy-note', 'lists intake-note'));
    expect(compareFields(file, fields, edit('amends', (c) => [c[0], 'string', c[2], c[3]]))).toEqual(
      has('"string", the schema says "string or null"')
    );
    expect(compareFields(file, fields, edit('sessionId', (c) => [c[0], c[1], 'no', c[3]]))).toEqual(has('required "no", the schema says "yes"'));
    expect(compareFields(file, fields, edit('text', (c) => [c[0], c[1], c[2], 'Up to 100 kB.']))).toEqual(has('`text` has the limit'));
  });

  test('closed lists and numbers are read as written', () => {
    expect(closedList('Values: one of `a`, `b` or `c` (at least 1). Not `d`.')).toEqual(['a', 'b', 'c']);
    expect(closedList('no list here, `x`')).toBeUndefined();
    expect(numbersIn('4 to 13,981,016 characters (10 MiB)')).toEqual([4, 13981016, 10]);
  });
});
