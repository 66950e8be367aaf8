/**
 * views/ is checked when the service starts: a broken file stops the start with the file and the
 * JSON pointer of each problem; the shipped views load and resolve by reference.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadViews } from '../../src/analytics/views.js';
import { OperationOutcomeError } from '../../src/outcomes.js';
import { projectRoot } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('loadViews', () => {
  test('the shipped views load and resolve as ViewDefinition/<name>, <name> or their url', () => {
    const views = loadViews();
    expect(views.list().length).toBeGreaterThanOrEqual(4);
    for (const v of views.list()) {
      expect(views.resolve(`ViewDefinition/${v.name}`)).toBe(v);
      expect(views.resolve(v.name)).toBe(v);
      expect(views.resolve(v.view.definition.url as string)).toBe(v);
    }
    expect(views.resolve('ViewDefinition/nope')).toBeUndefined();
  });

  test('no views folder: no views', () => {
    const tmp = tempDir();
    try {
      expect(loadViews(join(tmp.dir, 'absent')).list()).toStrictEqual([]);
    } finally {
      tmp.cleanup();
    }
  });

  test('every broken file is named, with the pointer of each problem, in one error', () => {
    const tmp = tempDir();
    try {
      copyFileSync(join(projectRoot(), 'views', 'notes.json'), join(tmp.dir, 'notes.json'));
      writeFileSync(join(tmp.dir, 'broken.json'), '{ "resourceType": "ViewDefinition", ');
      writeFileSync(
        join(tmp.dir, 'wrong.json'),
        JSON.stringify({ resourceType: 'ViewDefinition', name: 'other', resource: 'Encounter', select: [{ column: [{ name: 'x', path: 'status.(' }] }] })
      );
      writeFileSync(join(tmp.dir, 'README.md'), 'not a view');
      let error: unknown;
      try {
        loadViews(tmp.dir);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(OperationOutcomeError);
      const issues = (error as OperationOutcomeError).outcome.issue ?? [];
      const lines = issues.map((i) => `${i.expression?.[0] ?? ''} ${i.details?.text}`);
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(/^ .*broken\.json: not valid JSON/);
      expect(lines.slice(1)).toStrictEqual([
        expect.stringMatching(/^\/select\/0\/column\/0\/path .*wrong\.json: is not valid FHIRPath/),
        expect.stringMatching(/^\/status .*wrong\.json: is required/),
        expect.stringMatching(/^\/name .*wrong\.json: must be 'wrong', the file's name/),
      ]);
      expect((error as Error).message).toContain('wrong.json');
    } finally {
      tmp.cleanup();
    }
  });
});
