/**
 * Compares a field table of docs/contract.md with the fields of a JSON Schema (schema-fields.ts) and
 * lists every disagreement in words, so the test failure says what to fix where.
 */
import type { SchemaField } from './schema-fields.js';
import { codeSpans } from './markdown.js';

/** One documented field: the table row's cells (Field, Type, Required, Values and rules). */
export interface DocRow {
  cells: string[];
  line: number;
}

/** The closed list a Values cell gives: the code spans right after "one of". */
export function closedList(cell: string): string[] | undefined {
  const m = /one of ((?:`[^`]+`(?:, | or |, or )?)+)/.exec(cell);
  return m ? codeSpans(m[1]) : undefined;
}

/** The numbers a cell mentions (`13,981,016` counts as 13981016). */
export function numbersIn(cell: string): number[] {
  return [...cell.replace(/(\d),(?=\d{3}\b)/g, '$1').matchAll(/\d+/g)].map((m) => Number(m[0]));
}

function sameSet(a: readonly string[], b: readonly string[]): { missing: string[]; extra: string[] } {
  return { missing: a.filter((x) => !b.includes(x)), extra: b.filter((x) => !a.includes(x)) };
}

/**
 * Every difference between the schema's fields and the doc's rows.
 * @param file - the schema file, for the messages.
 */
export function compareFields(file: string, fields: SchemaField[], rows: DocRow[]): string[] {
  const problems: string[] = [];
  const byPath = new Map<string, DocRow>();
  for (const row of rows) {
    const path = codeSpans(row.cells[0] ?? '')[0];
    if (!path || row.cells.length !== 4) {
      problems.push(`${file}, doc line ${row.line}: a row needs four cells and a \`field\` name first`);
      continue;
    }
    if (byPath.has(path)) {
      problems.push(`${file}, doc line ${row.line}: \`${path}\` is documented twice`);
    }
    byPath.set(path, row);
  }
  for (const path of byPath.keys()) {
    if (!fields.some((f) => f.path === path)) {
      problems.push(`${file}: the doc names \`${path}\`, which the schema does not have`);
    }
  }
  for (const f of fields) {
    const row = byPath.get(f.path);
    if (!row) {
      problems.push(`${file}: \`${f.path}\` (${f.type}) is not documented`);
      continue;
    }
    const [, type, required, values] = row.cells;
    const docType = type.replace(/`/g, '');
    if (docType !== f.type) {
      problems.push(`${file}: \`${f.path}\` is documented as "${docType}", the schema says "${f.type}"`);
    }
    if (required !== (f.required ? 'yes' : 'no')) {
      problems.push(`${file}: \`${f.path}\` is documented as required "${required}", the schema says "${f.required ? 'yes' : 'no'}"`);
    }
    const listed = closedList(values);
    if (f.values && !listed) {
      problems.push(`${file}: \`${f.path}\` has a closed list in the schema; write it as "one of \`a\`, \`b\`"`);
    } else if (!f.values && listed) {
      problems.push(`${file}: \`${f.path}\` is documented with a closed list the schema does not have`);
    } else if (f.values && listed) {
      const { missing, extra } = sameSet(f.values, listed);
      if (missing.length > 0) {
        problems.push(`${file}: \`${f.path}\` lacks the value(s) ${missing.join(', ')} in the doc`);
      }
      if (extra.length > 0) {
        problems.push(`${file}: the doc lists ${extra.join(', ')} for \`${f.path}\`, which the schema does not allow`);
      }
    }
    const numbers = numbersIn(values);
    for (const limit of f.limits) {
      if (!numbers.includes(limit)) {
        problems.push(`${file}: \`${f.path}\` has the limit ${limit} in the schema, which the doc does not state`);
      }
    }
  }
  return problems;
}
