/**
 * docs/security.md stays true to the code: its route table is exactly the one the guard enforces, and
 * every variable of access control and limits is documented there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderRouteTable } from '../../src/auth/route-access.js';
import { projectRoot } from '../../src/paths.js';

const doc = readFileSync(join(projectRoot(), 'docs', 'security.md'), 'utf8');

test('docs/security.md shows the route table (regenerate: paste the expected table between the markers)', () => {
  const m = /<!-- route-table:start -->\n([\s\S]*?)\n<!-- route-table:end -->/.exec(doc);
  expect(m).not.toBeNull();
  expect(m![1].trim()).toBe(renderRouteTable());
});

test('every security variable is documented', () => {
  const settings = readFileSync(join(projectRoot(), 'src', 'auth', 'settings.ts'), 'utf8');
  const vars = [...new Set([...settings.matchAll(/'([A-Z][A-Z0-9_]{3,})'/g)].map((x) => x[1]))];
  expect(vars.length).toBeGreaterThan(10);
  expect(vars.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
});
