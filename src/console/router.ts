/**
 * The web console's page and assets at /console/ (built by `npm run build` from console/ into
 * dist/console/; see docs/console.md), served without a token: the page holds no data, and every API
 * call it makes carries the credential the person signs in with. `/` leads to the console.
 *
 * The pages run under a strict Content Security Policy (no inline script or style, nothing from
 * another origin), set here as well so the console stays strict whatever else sets headers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';
import { projectRoot } from '../paths.js';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the built console lives. */
export function consoleAssetsDir(): string {
  return join(projectRoot(), 'dist', 'console');
}

export function consoleRouter(dir = consoleAssetsDir()): Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.redirect(302, '/console/'));
  router.use('/console', (req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // The token lives in sessionStorage; no page of the console may be framed or cached by a proxy.
    res.setHeader('Cache-Control', 'no-cache');
    if (!existsSync(join(dir, 'index.html'))) {
      res.status(503).type('text/plain').send('The console is not built: run `npm run build` (it bundles console/ into dist/console/).\n');
      return;
    }
    next();
  });
  router.use('/console', express.static(dir, { index: 'index.html', redirect: true, fallthrough: true, dotfiles: 'ignore' }));
  return router;
}
