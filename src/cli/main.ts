#!/usr/bin/env node
/**
 * The collateral-fhir command line. `demo` sends the example dataset through a running service.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { processIo } from './io.js';
import { SYNC_USAGE, syncCommand, terminalIo } from './sync-command.js';
import { VIEWS_USAGE, viewsCommand } from './views-command.js';
import { runWorkbenchCommand, WORKBENCH_USAGE } from './workbench.js';

const USAGE = `Usage: collateral-fhir <command> [options]

Commands:
  demo    send examples/ through a running service and print what was synced
          --url URL          the service (default http://127.0.0.1:$PORT or 8080)
          --token TOKEN      an API token (default: $API_TOKEN, else DATA_DIR/api-token)
${WORKBENCH_USAGE}
${SYNC_USAGE}
${VIEWS_USAGE}
`;

function defaultToken(): string | undefined {
  if (process.env.API_TOKEN) {
    return process.env.API_TOKEN;
  }
  if (process.env.API_TOKENS) {
    return process.env.API_TOKENS.split(',')[0].trim();
  }
  const file = join(resolve(process.env.DATA_DIR ?? './data'), 'api-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

async function main(argv: string[]): Promise<number> {
  // The mapping workbench commands (map, validate, test-mappings, remap, build-profiles) parse their own options.
  const workbench = await runWorkbenchCommand(argv, processIo);
  if (workbench !== undefined) {
    return workbench;
  }
  if (argv[0] === 'sync') {
    const code = await syncCommand(argv.slice(1), terminalIo);
    await terminalIo.flush();
    return code;
  }
  if (argv[0] === 'views') {
    const code = await viewsCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });
    await terminalIo.flush();
    return code;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'demo') {
    const token = values.token ?? defaultToken();
    if (!token) {
      console.error('No API token: pass --token, set API_TOKEN, or start the service once so DATA_DIR/api-token exists.');
      return 2;
    }
    const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
    return runDemo({ url, token, timeoutMs: 60_000 });
  }
  console.error(`Unknown command "${command}".\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
);
