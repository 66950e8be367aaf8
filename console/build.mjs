// Builds the web console: console/src (Preact + TSX) bundled by esbuild into dist/console/ (index.html,
// and assets/app.js, assets/app.css, assets/favicon.svg), served by the service at /console/; the route
// table (src/auth/route-table.ts) makes only /console and /console/assets/* public. `npm run build` runs it; so do the console
// tests. Output is written to a temporary folder and renamed into place, so a service reading the old
// bundle never sees half a new one.
import { build } from 'esbuild';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'console');
const tmp = `${out}.tmp-${process.pid}`;

rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
await build({
  entryPoints: { app: join(root, 'console', 'src', 'main.tsx') },
  bundle: true,
  outdir: join(tmp, 'assets'),
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  loader: { '.svg': 'dataurl' },
  logLevel: 'warning',
});
cpSync(join(root, 'console', 'index.html'), join(tmp, 'index.html'));
cpSync(join(root, 'console', 'favicon.svg'), join(tmp, 'assets', 'favicon.svg'));
rmSync(out, { recursive: true, force: true });
mkdirSync(dirname(out), { recursive: true });
renameSync(tmp, out);
