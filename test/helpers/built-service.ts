/**
 * Runs the built service as a real child process (so it can be killed with SIGKILL), compiled once per
 * test file into a private folder under .tmp/ so concurrent builds never collide.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

/** Compiles src/ into .tmp/<name>/ and returns the path of its main.js. */
export function buildService(name: string): string {
  const root = projectRoot();
  const outDir = join(root, '.tmp', name);
  mkdirSync(outDir, { recursive: true });
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch {
    // tsc still emits JavaScript when another part of the tree has a type error; the typecheck step reports those.
  }
  return join(outDir, 'src', 'main.js');
}

export interface ChildService {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts main.js with the given environment and resolves once it logs its URL. */
export function startChild(mainJs: string, env: Record<string, string>, timeoutMs = 30_000): Promise<ChildService> {
  const child = spawn(process.execPath, [mainJs], { env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /"message":"collateral-fhir started"[^\n]*"url":"([^"]+)"/.exec(out) ?? /"url":"([^"]+)"[^\n]*"message":"collateral-fhir started"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${out}`));
    });
  });
}
