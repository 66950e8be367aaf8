/**
 * The evaluator's own parts: our member access gives exactly medplum's results (differential, on the
 * official suite's expressions and resources and on the FHIR our mappings produce), the FHIRPath
 * date functions we add, the boundary functions beyond the suite, and validation beyond the suite.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evalFhirPathTyped, parseFhirPath, toTypedValue, type TypedValue } from '@medplum/core';
import { highBoundary, lowBoundary } from '../../src/analytics/sof/boundary.js';
import { compileView } from '../../src/analytics/sof/compile.js';
import { constantValue } from '../../src/analytics/sof/constants.js';
import { difference, duration } from '../../src/analytics/sof/date-difference.js';
import { evaluateView } from '../../src/analytics/sof/evaluate.js';
import { parseViewPath } from '../../src/analytics/sof/fhirpath.js';
import { validateView } from '../../src/analytics/sof/validate.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { projectRoot } from '../../src/paths.js';

loadFhirDefinitions();

/** Functions whose results we change on purpose (medplum lacks or mishandles them). */
const OURS = /lowBoundary|highBoundary|getResourceKey|getReferenceKey|duration\(|difference\(/;

function plain(values: TypedValue[]): unknown[] {
  return values.map((v) => ({ type: v.type, value: (v.value as { valueOf(): unknown } | null)?.valueOf?.() ?? v.value }));
}

/** Every FHIRPath of a view, with the path of the select it sits in (to find its foci). */
function expressionsOf(view: any): { expr: string; forEach?: string }[] {
  const out: { expr: string; forEach?: string }[] = (view.where ?? []).map((w: any) => ({ expr: w.path }));
  const walk = (selects: any[], forEach?: string): void => {
    for (const s of selects ?? []) {
      const iter = s.forEach ?? s.forEachOrNull;
      if (iter) {
        out.push({ expr: iter, forEach });
      }
      const here = iter && !forEach ? iter : forEach;
      for (const c of s.column ?? []) {
        out.push({ expr: c.path, forEach: here });
      }
      walk(s.select, here);
      walk(s.unionAll, here);
    }
  };
  walk(view.select);
  return out;
}

const suiteDir = resolve(process.env.SOF_TESTS_DIR ?? join(projectRoot(), '..', 'shared', 'sql-on-fhir-v2', 'tests'));
const mappingOutputs: any[] = readdirSync(join(projectRoot(), 'test', 'mapping-cases'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json') && !f.includes('schema'))
  .flatMap((f) => JSON.parse(readFileSync(join(projectRoot(), 'test', 'mapping-cases', f), 'utf8')).cases ?? [])
  .flatMap((c: any) => c.expect ?? []);

describe('member access: the same results as medplum', () => {
  let total = 0;
  const cases: { name: string; resources: any[]; view: any }[] = [];
  if (existsSync(suiteDir)) {
    for (const f of readdirSync(suiteDir).filter((x) => x.endsWith('.json'))) {
      const suite = JSON.parse(readFileSync(join(suiteDir, f), 'utf8'));
      suite.tests.forEach((t: any) => cases.push({ name: `${f}: ${t.title}`, resources: suite.resources, view: t.view }));
    }
  }
  for (const file of readdirSync(join(projectRoot(), 'views')).filter((f) => f.endsWith('.json'))) {
    cases.push({ name: `views/${file}`, resources: mappingOutputs, view: JSON.parse(readFileSync(join(projectRoot(), 'views', file), 'utf8')) });
  }
  cases.push({
    name: 'choice types, primitive extensions, type-name prefixes, indexers',
    resources: [
      { resourceType: 'Patient', id: 'x', birthDate: '2001-02-03', _birthDate: { extension: [{ url: 'u', valueString: 'v' }] }, name: [{ given: ['A', 'B'], _given: [null, { id: 'g2' }] }] },
      { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 't' }, valueQuantity: { value: 2, unit: 'mg' }, component: [{ code: { text: 'c' }, valueString: 's' }] },
    ],
    view: {
      resource: 'Patient',
      select: [
        { column: ['Patient.name.given', 'birthDate', 'birthDate.extension.value', 'name.given[1]', 'name[0].given.count()', 'name.given.id'].map((p, i) => ({ name: `c${i}`, path: p, collection: true })) },
      ],
    },
  });

  test('the cases exist', () => {
    expect(cases.length).toBeGreaterThan(4);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const constants: Record<string, TypedValue> = {};
    for (const k of c.view.constant ?? []) {
      if (k.name && Object.keys(k).some((x) => x.startsWith('value'))) {
        constants[`%${k.name}`] = constantValue(k);
      }
    }
    for (const { expr, forEach } of expressionsOf(c.view)) {
      if (typeof expr !== 'string' || OURS.test(expr) || expr.includes('%rowIndex')) {
        continue;
      }
      let theirs: ReturnType<typeof parseFhirPath>;
      try {
        theirs = parseFhirPath(expr);
      } catch {
        continue; // not FHIRPath (the suite's invalid views): nothing to compare
      }
      const ours = parseViewPath(expr);
      for (const resource of c.resources.filter((r: any) => !c.view.resource || r.resourceType === c.view.resource)) {
        const root = toTypedValue(resource);
        let foci = [root];
        try {
          foci = forEach ? evalFhirPathTyped(parseFhirPath(forEach), [root], constants) : [root];
        } catch {
          continue; // the focus itself is an error (an undefined constant): compared where it is evaluated
        }
        for (const focus of foci) {
          let expected: unknown;
          try {
            expected = plain(evalFhirPathTyped(theirs, [focus], { ...constants, '%resource': root }));
          } catch {
            expected = 'error';
          }
          let actual: unknown;
          try {
            actual = plain(ours.eval({ variables: { ...constants, '%resource': root } }, [focus]));
          } catch {
            actual = 'error';
          }
          expect({ expr, actual }).toStrictEqual({ expr, actual: expected });
          total++;
        }
      }
    }
  });

  test('compared many evaluations', () => {
    expect(total).toBeGreaterThan(1000);
  });
});

describe('duration() and difference() (FHIRPath date and time interval functions)', () => {
  test('the specification examples', () => {
    expect(duration('2025-01-02', '2025-01-07', 'week')).toBe(0);
    expect(difference('2025-01-02', '2025-01-07', 'week')).toBe(1);
    expect(duration('2025-01-01', '2025-09-01', 'year')).toBe(0);
    expect(duration('2024-12-01', '2025-09-01', 'year')).toBe(0);
    expect(difference('2025-01-01', '2025-09-01', 'year')).toBe(0);
    expect(difference('2024-12-01', '2025-09-01', 'year')).toBe(1);
  });

  test('days: whole 24-hour periods for duration, calendar days as written for difference; negative backwards', () => {
    expect(duration('2026-02-01T16:00:00-05:00', '2026-02-02T09:00:00-05:00', 'day')).toBe(0);
    expect(difference('2026-02-01T16:00:00-05:00', '2026-02-02T09:00:00-05:00', 'day')).toBe(1);
    expect(difference('2026-03-07T16:00:00-05:00', '2026-03-09T09:00:00-04:00', 'day')).toBe(2);
    expect(duration('2026-02-05', '2026-02-01', 'day')).toBe(-4);
    expect(difference('2026-02-05', '2026-02-01', 'day')).toBe(-4);
    expect(duration('2026-01-31', '2026-02-28', 'month')).toBe(0);
    expect(duration('2026-01-31', '2026-03-31', 'month')).toBe(2);
    expect(difference('2026-01-31', '2026-02-01', 'month')).toBe(1);
  });

  test('instants across offsets for hours and less', () => {
    expect(duration('2026-02-01T16:00:00-05:00', '2026-02-01T22:30:00Z', 'hour')).toBe(1);
    expect(difference('2026-02-01T16:59:59Z', '2026-02-01T17:00:00Z', 'hour')).toBe(1);
    expect(duration('2026-02-01T16:59:59Z', '2026-02-01T17:00:00Z', 'hour')).toBe(0);
  });

  test('less precise than asked, or not a date: empty', () => {
    expect(duration('2026-02', '2026-03-01', 'day')).toBeUndefined();
    expect(difference('2026-02-01', '2026-02-02', 'hour')).toBeUndefined();
    expect(duration('soon', '2026-02-02', 'day')).toBeUndefined();
  });

  test('in a path: typed integer, empty for a missing value', () => {
    const doc = toTypedValue({ resourceType: 'DocumentReference', date: '2026-02-04T09:00:00-05:00', context: { period: { start: '2026-02-01T16:00:00-05:00' } } });
    expect(parseViewPath("context.period.start.difference(%resource.date, 'day')").eval({ variables: { '%resource': doc } }, [doc])).toStrictEqual([
      { type: 'integer', value: 3 },
    ]);
    expect(parseViewPath("context.period.end.difference(%resource.date, 'day')").eval({ variables: { '%resource': doc } }, [doc])).toStrictEqual([]);
    expect(() => parseViewPath("context.period.start.difference(%resource.date, 'fortnight')").eval({ variables: { '%resource': doc } }, [doc])).toThrow(/precision/);
  });
});

describe('lowBoundary() and highBoundary() beyond the suite', () => {
  test('integers, quantities, partial dates and date-times, times', () => {
    expect(lowBoundary({ type: 'integer', value: 3 })).toStrictEqual([{ type: 'decimal', value: 2.5 }]);
    expect(highBoundary({ type: 'decimal', value: 1.587 })).toStrictEqual([{ type: 'decimal', value: 1.5875 }]);
    expect(lowBoundary({ type: 'decimal', value: -1.587 })).toStrictEqual([{ type: 'decimal', value: -1.5875 }]);
    expect(lowBoundary({ type: 'Quantity', value: { value: 2.5, unit: 'mg' } })).toStrictEqual([{ type: 'Quantity', value: { value: 2.45, unit: 'mg' } }]);
    expect(lowBoundary({ type: 'date', value: '2024' })).toStrictEqual([{ type: 'date', value: '2024-01-01' }]);
    expect(highBoundary({ type: 'date', value: '2024-02' })).toStrictEqual([{ type: 'date', value: '2024-02-29' }]);
    expect(highBoundary({ type: 'dateTime', value: '2010' })).toStrictEqual([{ type: 'dateTime', value: '2010-12-31T23:59:59.999-12:00' }]);
    expect(lowBoundary({ type: 'dateTime', value: '2010-10-10T10:30+01:00' })).toStrictEqual([{ type: 'dateTime', value: '2010-10-10T10:30:00.000+01:00' }]);
    expect(lowBoundary({ type: 'dateTime', value: '2010-10-10T10:30:00+01:00' })).toStrictEqual([{ type: 'dateTime', value: '2010-10-10T10:30:00.000+01:00' }]);
    expect(highBoundary({ type: 'time', value: '12:34' })).toStrictEqual([{ type: 'time', value: '12:34:59.999' }]);
    expect(lowBoundary({ type: 'string', value: 'x' })).toStrictEqual([]);
  });
});

describe('validation beyond the suite: every problem, with its pointer', () => {
  const problems = (view: unknown): string[] => validateView(view).problems.map((p) => `${p.path} ${p.message}`);

  test('structure', () => {
    expect(problems('x')).toStrictEqual(['/ a ViewDefinition must be a JSON object']);
    expect(
      problems({
        resourceType: 'Bundle',
        resource: 'Patient',
        status: 'final',
        name: 'has space',
        where: [{ path: 'active', extra: 1 }],
        select: [{ repeat: [], column: [{ name: 'a', path: 'id', collection: 'yes', colour: 1 }] }, { unionAll: [] }],
      })
    ).toStrictEqual([
      '/resourceType must be ViewDefinition',
      '/status must be one of: draft, active, retired, unknown',
      '/name must start with a letter and hold only letters, digits and underscores',
      "/where/0/extra unknown element 'extra' of a where (allowed: path, description)",
      '/select/0/repeat must be a non-empty array of FHIRPath expressions',
      "/select/0/column/0/colour unknown element 'colour' of a column (allowed: name, path, type, collection, description, tag)",
      '/select/0/column/0/collection must be true or false',
      '/select/1/unionAll must be a non-empty array of selection structures',
    ]);
  });

  test('meaning: unknown functions and constants, shadowed names, duplicate columns', () => {
    expect(
      problems({
        resource: 'Patient',
        constant: [{ name: 'resource', valueString: 'x' }, { name: 'n', valueInteger: 1.5 }],
        select: [{ column: [{ name: 'a', path: 'name.frobnicate()' }, { name: 'b', path: '%m + %n' }] }, { forEach: 'name', column: [{ name: 'a', path: 'family' }] }],
      })
    ).toStrictEqual([
      "/constant/0/name 'resource' is already defined",
      '/constant/1/valueInteger must be a whole number',
      '/select/0/column/0/path uses the unknown function frobnicate()',
      '/select/0/column/1/path uses %m, which is neither a constant of the view nor %rowIndex',
      "/select/1/column/0/name column name 'a' is already used at /select/0/column/0/name: column names must be unique",
    ]);
  });

  test('a valid view compiles to its columns in order; evaluation over another type yields nothing', () => {
    const view = compileView({ resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id', type: 'id' }] }, { forEach: 'name', column: [{ name: 'family', path: 'family' }] }] });
    expect(view.columns.map((c) => c.name)).toStrictEqual(['id', 'family']);
    expect(evaluateView(view, { resourceType: 'Observation', id: 'o', status: 'final', code: {} } as never)).toStrictEqual([]);
  });
});
