/**
 * The views analysts run by name (`viewReference: ViewDefinition/<name>`): views/*.json, one
 * ViewDefinition per file, all checked when the service starts. A broken file stops the start with
 * the file and the JSON pointer of every problem, as mappings/ does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Problem } from '../outcomes.js';
import { OperationOutcomeError } from '../outcomes.js';
import { projectRoot } from '../paths.js';
import { viewFilesInvalid } from './outcomes.js';
import { compileView, type CompiledView } from './sof/compile.js';
import { validateView } from './sof/validate.js';

/** A loaded view. */
export interface NamedView {
  name: string;
  /** Path relative to the project root, for messages. */
  file: string;
  view: CompiledView;
}

/** The views of views/, by name. */
export interface ViewRegistry {
  /** All views, by name order. */
  list(): NamedView[];
  /**
   * Resolves a viewReference: `ViewDefinition/<name>`, `<name>`, or the view's canonical `url`.
   * @returns The view, or undefined when there is none by that reference.
   */
  resolve(reference: string): NamedView | undefined;
}

/**
 * Loads and checks every view in a folder.
 * @param dir - The views folder; default `<project root>/views`.
 * @throws OperationOutcomeError(viewFilesInvalid) naming each broken file and the JSON pointer of each problem.
 */
export function loadViews(dir: string = join(projectRoot(), 'views')): ViewRegistry {
  const failures: { file: string; problems: Problem[] }[] = [];
  const views: NamedView[] = [];
  // No views/ folder (a deployment that ships none): no views, and viewReference answers 404.
  const files = (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [])
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(dir, e.name))
    .sort();
  for (const path of files) {
    const file = relative(projectRoot(), path);
    const problems = fileProblems(path);
    if (problems.length > 0) {
      failures.push({ file, problems });
      continue;
    }
    const view = compileView(JSON.parse(readFileSync(path, 'utf8')));
    views.push({ name: view.definition.name as string, file, view });
  }
  if (failures.length > 0) {
    throw new OperationOutcomeError(viewFilesInvalid(failures));
  }
  const byName = new Map(views.map((v) => [v.name, v]));
  return {
    list: () => [...views],
    resolve(reference) {
      const name = /^(?:ViewDefinition\/)?([A-Za-z][A-Za-z0-9_]*)$/.exec(reference)?.[1];
      return (name ? byName.get(name) : undefined) ?? views.find((v) => v.view.definition.url === reference);
    },
  };
}

/** Everything wrong with one view file: JSON, the ViewDefinition checks, and our own rules for shipped views. */
function fileProblems(path: string): Problem[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return [{ path: '', message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` }];
  }
  const problems = [...validateView(json).problems];
  const view = json as Record<string, unknown>;
  if (typeof view === 'object' && view !== null) {
    if (view.resourceType !== 'ViewDefinition') {
      problems.push({ path: '/resourceType', message: 'must be ViewDefinition' });
    }
    if (view.status === undefined) {
      problems.push({ path: '/status', message: 'is required: draft, active, retired or unknown' });
    }
    const expected = basename(path, '.json');
    if (view.name !== expected) {
      problems.push({ path: '/name', message: `must be '${expected}', the file's name (views are referenced as ViewDefinition/<name>)` });
    }
  }
  return problems;
}
