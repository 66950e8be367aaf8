/**
 * A real browser for the console tests: Debian's chromium driven by playwright-core, headless, in a
 * fresh profile each time, with nothing reaching out to the network on its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { projectRoot } from '../../src/paths.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bundles console/ into dist/console/ (esbuild: well under a second), so the test sees the current source. */
export function buildConsole(): void {
  execFileSync(process.execPath, [join(projectRoot(), 'console', 'build.mjs')], { cwd: projectRoot(), stdio: 'pipe' });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors from a broken Content Security Policy, and uncaught page errors. */
  problems: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No chromium at ${CHROMIUM}: install it (apt-get update && apt-get install -y chromium), as .ci/run does`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1360, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot: into docs/console/ when UPDATE_CONSOLE_SCREENSHOTS=1 (`npm run screenshots`),
 * else into .tmp/ (taken all the same, so the step is exercised).
 */
export async function screenshot(page: Page, name: string, part?: Locator): Promise<void> {
  const dir = process.env.UPDATE_CONSOLE_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'console') : join(projectRoot(), '.tmp', 'console-screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  // The header is sticky: from the top, a full-page shot shows it once, where it belongs.
  await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  await page.waitForTimeout(150); // let the last paint settle (no assertion depends on this)
  const box = part ? await part.boundingBox() : null;
  await page.screenshot({ path, fullPage: true, ...(box ? { clip: { x: 0, y: Math.max(0, box.y - 12), width: 1360, height: box.height + 24 } } : {}) });
}
