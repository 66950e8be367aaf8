/**
 * Evaluates a compiled ViewDefinition on one resource, following the specification's Process(S, N)
 * recursion: per focus, a part for the columns, one per nested select and one for the unionAll rows,
 * combined as their Cartesian product. Added to medplum's evalSqlOnFhir: `repeat`, `%rowIndex`, the
 * forEachOrNull null row over every column of the structure, `[]` for an empty collection column.
 * See: https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/implementer_guidance.html#processs-n-recursive-step
 */
import { toTypedValue, type AtomContext, type FhirPathAtom, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError } from '../../outcomes.js';
import { viewEvaluationFailed } from '../outcomes.js';
import type { CompiledColumn, CompiledSelect, CompiledView } from './compile.js';
import type { Row } from './types.js';

/** The bound on repeat's recursion (a cycle cannot occur in a tree, but a path like `$this` would loop). */
const MAX_REPEAT_DEPTH = 64;

/**
 * The rows a view yields for one resource (none when it is another type or fails a where).
 * @param view - The compiled view.
 * @param resource - One resource.
 * @returns The rows, each with every column of the view.
 * @throws OperationOutcomeError(viewEvaluationFailed) when a non-collection column yields several values or a where is not boolean.
 */
export function evaluateView(view: CompiledView, resource: Resource): Row[] {
  if (resource.resourceType !== view.resource) {
    return [];
  }
  try {
    return evaluateResource(view, resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      throw err;
    }
    // medplum wraps FHIRPath failures as `FhirPathError on "<expression>": <cause>`; the cause may
    // quote data, so only the expression (from the view) is passed on.
    const expression = /^FhirPathError on "(.*)": /s.exec(err instanceof Error ? err.message : '')?.[1];
    return fail('', `${resource.resourceType}/${resource.id ?? '?'}: ${expression ? `the FHIRPath "${expression}" failed` : 'evaluation failed'}`);
  }
}

function evaluateResource(view: CompiledView, resource: Resource): Row[] {
  const node = toTypedValue(resource);
  // The constants live in one shared scope; only the resource variables are new per resource.
  const context: AtomContext = { parent: view.scope, variables: { '%resource': node, '%rootResource': node } };
  for (let i = 0; i < view.where.length; i++) {
    const result = view.where[i].eval(context, [node]);
    if (result.length === 0) {
      return [];
    }
    if (result.length > 1 || result[0].type !== 'boolean') {
      fail(`/where/${i}/path`, 'a where path must evaluate to a single boolean');
    }
    if (result[0].value?.valueOf() !== true) {
      return [];
    }
  }
  return processSelect(view.root, node, { parent: context, variables: { '%rowIndex': ROW_ZERO } });
}

const ROW_ZERO: TypedValue = { type: 'integer', value: 0 };

function processSelect(s: CompiledSelect, node: TypedValue, context: AtomContext): Row[] {
  const iteration = s.iteration;
  if (!iteration) {
    return rowsForFocus(s, node, context);
  }
  const foci =
    iteration.kind === 'repeat' ? repeatFoci(iteration.paths, node, context) : iteration.path.eval(context, [node]);
  if (foci.length === 0) {
    return iteration.kind === 'forEachOrNull' ? [nullRow(s, { parent: context, variables: { '%rowIndex': ROW_ZERO } })] : [];
  }
  const rows: Row[] = [];
  for (let i = 0; i < foci.length; i++) {
    const focusContext = { parent: context, variables: { '%rowIndex': { type: 'integer', value: i } } };
    for (const row of rowsForFocus(s, foci[i], focusContext)) {
      rows.push(row);
    }
  }
  return rows;
}

/** Every node reached by following the paths from `node`, recursively, depth first (the node itself excluded). */
function repeatFoci(paths: FhirPathAtom[], node: TypedValue, context: AtomContext): TypedValue[] {
  const out: TypedValue[] = [];
  const visit = (n: TypedValue, depth: number): void => {
    if (depth > MAX_REPEAT_DEPTH) {
      fail('', `repeat went deeper than ${MAX_REPEAT_DEPTH} levels`);
    }
    for (const path of paths) {
      for (const child of path.eval(context, [n])) {
        out.push(child);
        visit(child, depth + 1);
      }
    }
  };
  visit(node, 0);
  return out;
}

function rowsForFocus(s: CompiledSelect, focus: TypedValue, context: AtomContext): Row[] {
  let rows: Row[] | undefined = s.columns.length > 0 ? [columnsRow(s.columns, focus, context)] : undefined;
  for (const sub of s.selects) {
    const subRows = processSelect(sub, focus, context);
    rows = rows ? product(rows, subRows) : subRows;
    if (rows.length === 0) {
      return rows;
    }
  }
  if (s.unionAll) {
    const union: Row[] = [];
    for (const branch of s.unionAll) {
      for (const row of processSelect(branch, focus, context)) {
        union.push(row);
      }
    }
    rows = rows ? product(rows, union) : union;
  }
  return rows ?? [];
}

function columnsRow(columns: CompiledColumn[], focus: TypedValue | undefined, context: AtomContext): Row {
  const row: Row = {};
  const input = focus ? [focus] : [];
  for (const c of columns) {
    const values = c.path.eval(context, input);
    if (c.collection) {
      row[c.name] = values.map(plain);
    } else if (values.length === 0) {
      row[c.name] = null;
    } else if (values.length === 1) {
      row[c.name] = plain(values[0]);
    } else {
      fail(`${c.at}/path`, `the column '${c.name}' yields ${values.length} values: declare it "collection": true or narrow its path`);
    }
  }
  return row;
}

/**
 * The forEachOrNull row for an empty collection: every column of the structure (nested ones
 * included) evaluated without a focus, so element paths give null while %rowIndex (0), constants and
 * literals keep their value, as the official suite expects.
 */
function nullRow(s: CompiledSelect, context: AtomContext): Row {
  const row: Row = s.columns.length > 0 ? columnsRow(s.columns, undefined, context) : {};
  for (const sub of s.selects) {
    Object.assign(row, nullRow(sub, context));
  }
  if (s.unionAll) {
    Object.assign(row, nullRow(s.unionAll[0], context));
  }
  return row;
}

function product(left: Row[], right: Row[]): Row[] {
  if (left.length === 1 && right.length === 1) {
    return [{ ...left[0], ...right[0] }];
  }
  const out: Row[] = [];
  for (const a of left) {
    for (const b of right) {
      out.push({ ...a, ...b });
    }
  }
  return out;
}

/** A FHIRPath value as plain JSON (medplum may hold primitives boxed). */
function plain(v: TypedValue): unknown {
  const value = v.value as { valueOf(): unknown } | null | undefined;
  return value === null || value === undefined ? null : value.valueOf();
}

function fail(path: string, message: string): never {
  throw new OperationOutcomeError(viewEvaluationFailed({ path, message }));
}
