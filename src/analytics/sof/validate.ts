/**
 * ViewDefinition validation: every problem at once, each with the JSON pointer of the offending part
 * of the view. Structure (the logical model's cardinalities and types, the sql-name and
 * sql-expressions invariants), then meaning: every FHIRPath parses, names only known functions and
 * defined variables, column names are unique, and every unionAll branch yields the same columns in
 * the same order.
 * See: https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/StructureDefinition-ViewDefinition.html
 */
import { FunctionAtom, isResourceType, SymbolAtom, type FhirPathAtom } from '@medplum/core';
import { loadFhirDefinitions } from '../../fhir/definitions.js';
import type { Problem } from '../../outcomes.js';
import { CONSTANT_TYPES, constantType, ROW_INDEX, STANDARD_VARIABLES, valueKeys } from './constants.js';
import { atomsOf, isKnownFunction, parseViewPath } from './fhirpath.js';

/** The sql-name invariant: usable as a column or table name in any database. */
export const SQL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const STATUSES = ['draft', 'active', 'retired', 'unknown'];
const SELECT_KEYS = new Set(['column', 'select', 'forEach', 'forEachOrNull', 'repeat', 'unionAll', 'id', 'extension', 'modifierExtension']);
const COLUMN_KEYS = new Set(['name', 'path', 'type', 'collection', 'description', 'tag', 'id', 'extension', 'modifierExtension']);
const WHERE_KEYS = new Set(['path', 'description', 'id', 'extension', 'modifierExtension']);

type Json = Record<string, unknown>;

/** The result of validating a view: its problems, and the parsed form of each FHIRPath it holds. */
export interface ViewCheck {
  problems: Problem[];
  /** Every expression of the view, parsed (only those that parse). */
  parsed: Map<string, FhirPathAtom>;
  /** The output column names, in output order (meaningful when there are no problems). */
  columns: string[];
}

/**
 * Validates a ViewDefinition.
 * @param view - The view as received (any JSON).
 * @returns Every problem with its JSON pointer, the parsed expressions and the output column names.
 */
export function validateView(view: unknown): ViewCheck {
  loadFhirDefinitions();
  const v = new Checker();
  const columns = v.view(view);
  return { problems: v.problems, parsed: v.parsed, columns };
}

class Checker {
  readonly problems: Problem[] = [];
  readonly parsed = new Map<string, FhirPathAtom>();
  private variables = new Set<string>();

  private add(path: string, message: string): void {
    this.problems.push({ path: path || '/', message, code: 'invalid' });
  }

  view(view: unknown): string[] {
    if (!isObject(view)) {
      this.add('', 'a ViewDefinition must be a JSON object');
      return [];
    }
    if (view.resourceType !== undefined && view.resourceType !== 'ViewDefinition') {
      this.add('/resourceType', 'must be ViewDefinition');
    }
    if (typeof view.resource !== 'string' || view.resource === '') {
      this.add('/resource', 'is required: the FHIR resource type the view runs over');
    } else if (!isResourceType(view.resource)) {
      this.add('/resource', `'${view.resource}' is not a FHIR R4 resource type`);
    }
    if (view.status !== undefined && !STATUSES.includes(view.status as string)) {
      this.add('/status', `must be one of: ${STATUSES.join(', ')}`);
    }
    if (view.name !== undefined && !(typeof view.name === 'string' && SQL_NAME.test(view.name))) {
      this.add('/name', 'must start with a letter and hold only letters, digits and underscores');
    }
    this.constants(view.constant);
    this.where(view.where);
    if (!Array.isArray(view.select) || view.select.length === 0) {
      this.add('/select', 'is required: at least one select');
      return [];
    }
    const columns = this.selects(view.select, '/select');
    this.unique(columns);
    return columns.map((c) => c.name);
  }

  private constants(constants: unknown): void {
    this.variables = new Set([ROW_INDEX, ...STANDARD_VARIABLES]);
    if (constants === undefined) {
      return;
    }
    if (!Array.isArray(constants)) {
      this.add('/constant', 'must be an array');
      return;
    }
    constants.forEach((c: unknown, i) => {
      const at = `/constant/${i}`;
      if (!isObject(c)) {
        this.add(at, 'must be an object with a name and one value[x]');
        return;
      }
      if (typeof c.name !== 'string' || !SQL_NAME.test(c.name)) {
        this.add(`${at}/name`, 'is required and must start with a letter and hold only letters, digits and underscores');
      } else if (this.variables.has(c.name)) {
        this.add(`${at}/name`, `'${c.name}' is already defined`);
      } else {
        this.variables.add(c.name);
      }
      const keys = valueKeys(c);
      if (keys.length !== 1) {
        this.add(at, `must have exactly one value[x] (one of ${Object.keys(CONSTANT_TYPES).map((t) => `value${t[0].toUpperCase()}${t.slice(1)}`).join(', ')})`);
      } else {
        this.constantValue(c, keys[0], `${at}/${keys[0]}`);
      }
      for (const key of Object.keys(c)) {
        if (key !== 'name' && !key.startsWith('value') && !['id', 'extension'].includes(key)) {
          this.add(`${at}/${key}`, `unknown element '${key}' of a constant`);
        }
      }
    });
  }

  private constantValue(c: Json, key: string, at: string): void {
    const type = constantType(key);
    if (!type) {
      this.add(at, `'${key}' is not a value type a constant may have`);
      return;
    }
    const value = c[key];
    const json = CONSTANT_TYPES[type];
    const ok = json === 'integer' ? Number.isInteger(value) : typeof value === json;
    if (!ok) {
      this.add(at, `must be a ${json === 'integer' ? 'whole number' : json}`);
    }
  }

  private where(where: unknown): void {
    if (where === undefined) {
      return;
    }
    if (!Array.isArray(where)) {
      this.add('/where', 'must be an array');
      return;
    }
    where.forEach((w: unknown, i) => {
      const at = `/where/${i}`;
      if (!isObject(w)) {
        this.add(at, 'must be an object with a path');
        return;
      }
      this.unknownKeys(w, WHERE_KEYS, at, 'where');
      this.expression(w.path, `${at}/path`, true);
    });
  }

  /** A list of selection structures; returns the columns they produce, in order. */
  private selects(selects: unknown[], at: string): NamedAt[] {
    return selects.flatMap((s, i) => this.select(s, `${at}/${i}`));
  }

  private select(s: unknown, at: string): NamedAt[] {
    if (!isObject(s)) {
      this.add(at, 'must be an object (a selection structure)');
      return [];
    }
    this.unknownKeys(s, SELECT_KEYS, at, 'select');
    const iterations = ['forEach', 'forEachOrNull', 'repeat'].filter((k) => s[k] !== undefined);
    if (iterations.length > 1) {
      this.add(at, `may have only one of forEach, forEachOrNull and repeat (has ${iterations.join(' and ')})`);
    }
    for (const key of ['forEach', 'forEachOrNull'] as const) {
      if (s[key] !== undefined) {
        this.expression(s[key], `${at}/${key}`, true);
      }
    }
    if (s.repeat !== undefined) {
      if (!Array.isArray(s.repeat) || s.repeat.length === 0) {
        this.add(`${at}/repeat`, 'must be a non-empty array of FHIRPath expressions');
      } else {
        s.repeat.forEach((p: unknown, i) => this.expression(p, `${at}/repeat/${i}`, true));
      }
    }
    if (s.column === undefined && s.select === undefined && s.unionAll === undefined) {
      this.add(at, 'must have column, select or unionAll');
    }
    const columns: NamedAt[] = [];
    if (s.column !== undefined) {
      if (!Array.isArray(s.column)) {
        this.add(`${at}/column`, 'must be an array');
      } else {
        s.column.forEach((c: unknown, i) => {
          const col = this.column(c, `${at}/column/${i}`);
          if (col) {
            columns.push(col);
          }
        });
      }
    }
    if (s.select !== undefined) {
      if (!Array.isArray(s.select)) {
        this.add(`${at}/select`, 'must be an array');
      } else {
        columns.push(...this.selects(s.select, `${at}/select`));
      }
    }
    if (s.unionAll !== undefined) {
      columns.push(...this.unionAll(s.unionAll, `${at}/unionAll`));
    }
    return columns;
  }

  /** Every branch must produce the same column names in the same order; the first branch's are the result. */
  private unionAll(branches: unknown, at: string): NamedAt[] {
    if (!Array.isArray(branches) || branches.length === 0) {
      this.add(at, 'must be a non-empty array of selection structures');
      return [];
    }
    const results = branches.map((b, i) => this.select(b, `${at}/${i}`));
    const first = results[0].map((c) => c.name);
    results.slice(1).forEach((cols, i) => {
      const names = cols.map((c) => c.name);
      if (names.join(',') !== first.join(',')) {
        this.add(
          `${at}/${i + 1}`,
          `produces the columns [${names.join(', ')}] but the first branch produces [${first.join(', ')}]: every unionAll branch must produce the same columns in the same order`
        );
      }
    });
    return results[0];
  }

  private column(c: unknown, at: string): NamedAt | undefined {
    if (!isObject(c)) {
      this.add(at, 'must be an object with a name and a path');
      return undefined;
    }
    this.unknownKeys(c, COLUMN_KEYS, at, 'column');
    this.expression(c.path, `${at}/path`, true);
    if (c.type !== undefined && (typeof c.type !== 'string' || c.type === '')) {
      this.add(`${at}/type`, 'must be a FHIR type name (string)');
    }
    if (c.collection !== undefined && typeof c.collection !== 'boolean') {
      this.add(`${at}/collection`, 'must be true or false');
    }
    if (c.description !== undefined && typeof c.description !== 'string') {
      this.add(`${at}/description`, 'must be a string');
    }
    if (c.tag !== undefined && !(Array.isArray(c.tag) && c.tag.every((t) => isObject(t) && typeof t.name === 'string' && typeof t.value === 'string'))) {
      this.add(`${at}/tag`, 'must be an array of { name, value } strings');
    }
    if (typeof c.name !== 'string' || !SQL_NAME.test(c.name)) {
      this.add(`${at}/name`, 'is required and must start with a letter and hold only letters, digits and underscores');
      return undefined;
    }
    return { name: c.name, at: `${at}/name` };
  }

  /** Column names must be unique in the whole view. */
  private unique(columns: NamedAt[]): void {
    const seen = new Map<string, string>();
    for (const c of columns) {
      const first = seen.get(c.name);
      if (first) {
        this.add(c.at, `column name '${c.name}' is already used at ${first}: column names must be unique`);
      } else {
        seen.set(c.name, c.at);
      }
    }
  }

  private expression(expr: unknown, at: string, required: boolean): void {
    if (expr === undefined && !required) {
      return;
    }
    if (typeof expr !== 'string' || expr.trim() === '') {
      this.add(at, expr === undefined ? 'is required: a FHIRPath expression' : 'must be a FHIRPath expression (a non-empty string)');
      return;
    }
    let parsed = this.parsed.get(expr);
    if (!parsed) {
      try {
        parsed = parseViewPath(expr);
      } catch (err) {
        this.add(at, `is not valid FHIRPath: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      this.parsed.set(expr, parsed);
    }
    for (const atom of atomsOf(parsed)) {
      if (atom instanceof FunctionAtom && !isKnownFunction(atom.name)) {
        this.add(at, `uses the unknown function ${atom.name}()`);
      } else if (atom instanceof SymbolAtom && atom.name.startsWith('%') && !this.variables.has(atom.name.slice(1))) {
        this.add(at, `uses ${atom.name}, which is neither a constant of the view nor %rowIndex`);
      }
    }
  }

  private unknownKeys(o: Json, allowed: Set<string>, at: string, what: string): void {
    for (const key of Object.keys(o)) {
      if (!allowed.has(key)) {
        this.add(`${at}/${key}`, `unknown element '${key}' of a ${what} (allowed: ${[...allowed].filter((k) => !k.includes('xtension') && k !== 'id').join(', ')})`);
      }
    }
  }
}

interface NamedAt {
  name: string;
  at: string;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
