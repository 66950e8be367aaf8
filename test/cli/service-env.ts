/**
 * For the CLI tests: the real service started in-process from an environment exactly as `npm start`
 * reads it (src/config.ts), and an io that captures what a command writes, with that environment.
 */
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/service.js';
import type { CommandIo } from '../../src/cli/sync-command.js';

/**
 * A quiet log and a worker that looks for work often; the retry backoff keeps its defaults (a very short
 * one keeps held records churning through pending on a loaded machine, and the demo never settles).
 */
export const FAST_SYNC = { LOG_LEVEL: 'error', SYNC_POLL_INTERVAL_MS: '100' };

export interface EnvService {
  service: RunningService;
  /** The environment the service was started with, its PORT set to the port it listens on. */
  env: Record<string, string>;
}

/** Starts the service from `env` (PORT 0 picks a free, non-default port) and returns the env a CLI user would have. */
export async function startFromEnv(env: Record<string, string>): Promise<EnvService> {
  const logs = new PassThrough();
  logs.resume();
  const service = await startService(loadConfig({ PORT: '0', ...env }), { logStream: logs });
  return { service, env: { ...env, PORT: String(service.port) } };
}

/** A port nothing listens on (taken free, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An io that keeps what was written, with the given environment. */
export function captureIo(env: Record<string, string | undefined>): CommandIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    env,
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      err += `${t}\n`;
    },
    stdout: () => out,
    stderr: () => err,
  };
}
