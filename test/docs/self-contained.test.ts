/**
 * A clone of this repository is all a user has (issue #14): no file may send its reader outside it.
 * References to the team's working notes (`../shared`, `shared/docs`, and the notes by name:
 * product.md, fhir-modeling.md, house-style.md) are refused everywhere; the contract and the FHIR
 * modeling are in docs/contract.md and docs/fhir-mapping.md. The one exception: a test under test/ may
 * read shared *test data* (e.g. `../shared/sql-on-fhir-v2/tests`), never shared docs, and must skip
 * itself loudly when it is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../../src/paths.js';

const ROOT = projectRoot();
const SELF = 'test/docs/self-contained.test.ts';
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', '.tmp', 'data', 'coverage']);

/** The files a clone would hold: tracked and new (not ignored) files per git, or a walk without git. */
function repositoryFiles(): string[] {
  if (existsSync(join(ROOT, '.git'))) {
    const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
    return out.split('\0').filter((f) => f && existsSync(join(ROOT, f)));
  }
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!SKIPPED_DIRS.has(name)) walk(path);
      } else {
        files.push(relative(ROOT, path));
      }
    }
  };
  walk(ROOT);
  return files;
}

/** Where a text points outside the repository, as `line: excerpt`. */
function outsideReferences(path: string, text: string): string[] {
  const testData = path.startsWith('test/');
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const shared = [...line.matchAll(/(?:\.\.\/)+shared\/[^\s'"`)]*/g)].map((m) => m[0]);
    const bad =
      shared.some((ref) => !testData || /shared\/docs/.test(ref)) ||
      /(?<![\w.-])shared\/docs\b/.test(line) ||
      /\b(?:product|fhir-modeling|house-style)\.md\b/.test(line);
    if (bad) {
      found.push(`${path}:${i + 1}: ${line.trim().slice(0, 120)}`);
    }
  });
  return found;
}

describe('the repository is self-contained', () => {
  test('no file references the shared working notes (../shared, shared/docs, product.md, fhir-modeling.md, house-style.md)', () => {
    const files = repositoryFiles().filter((f) => f !== SELF);
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) => {
      const buf = readFileSync(join(ROOT, f));
      return buf.includes(0) ? [] : outsideReferences(f, buf.toString('utf8'));
    });
    expect(problems).toEqual([]);
  });

  test('the check itself: docs and code may not point outside; tests may read shared test data only', () => {
    expect(outsideReferences('README.md', 'the contract is in `../shared/docs/product.md`')).toHaveLength(1);
    expect(outsideReferences('src/x.ts', ' * see fhir-modeling.md 7.4')).toHaveLength(1);
    expect(outsideReferences('src/x.ts', "const dir = '../shared/sql-on-fhir-v2/tests';")).toHaveLength(1);
    expect(outsideReferences('test/analytics/x.test.ts', "const dir = join(root, '../shared/sql-on-fhir-v2/tests');")).toEqual([]);
    expect(outsideReferences('test/x.test.ts', "readFileSync('../shared/docs/product.md')")).toHaveLength(1);
    expect(outsideReferences('docs/x.md', 'see docs/fhir-mapping.md and docs/contract.md; shared state')).toEqual([]);
  });
});
