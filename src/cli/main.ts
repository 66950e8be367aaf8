#!/usr/bin/env node
/**
 * The collateral-fhir command line. `demo` sends the example dataset through a running service.
 */
import { parseArgs } from 'node:util';
import { DEMO_USAGE, demoCommand } from './demo.js';
import { IMPORT_USAGE, importCommand } from './import-command.js';
import { processIo } from './io.js';
import { KEYS_USAGE, keysCommand } from './keys-command.js';
import { SYNC_USAGE, syncCommand, terminalIo } from './sync-command.js';
import { VIEWS_USAGE, viewsCommand } from './views-command.js';
import { runWorkbenchCommand, WORKBENCH_USAGE } from './workbench.js';
import { VERIFY_TARGET_USAGE, verifyTargetCommand } from './verify-target-command.js';

const USAGE = `Usage: collateral-fhir <command> [options]

Commands:
${DEMO_USAGE}
${WORKBENCH_USAGE}
${SYNC_USAGE}
${IMPORT_USAGE}
${VIEWS_USAGE}
${KEYS_USAGE}
${VERIFY_TARGET_USAGE}
`;

async function main(argv: string[]): Promise<number> {
  // The mapping workbench commands (map, validate, test-mappings, remap, build-profiles) parse their own options.
  const workbench = await runWorkbenchCommand(argv, processIo);
  if (workbench !== undefined) {
    return workbench;
  }
  if (argv[0] === 'keys') {
    const code = keysCommand(argv.slice(1), processIo);
    await processIo.flush?.();
    return code;
  }
  if (argv[0] === 'demo') {
    const code = await demoCommand(argv.slice(1), terminalIo);
    await terminalIo.flush();
    return code;
  }
  if (argv[0] === 'import') {
    // Ctrl-C cancels the job (the lines it committed stay) instead of leaving it to break off.
    const interrupt = new AbortController();
    process.once('SIGINT', () => interrupt.abort());
    const progress = process.stderr.isTTY ? { write: (t: string) => process.stderr.write(t), columns: process.stderr.columns } : undefined;
    const code = await importCommand(argv.slice(1), { ...terminalIo, progress }, { signal: interrupt.signal });
    await terminalIo.flush();
    return code;
  }
  if (argv[0] === 'sync') {
    const code = await syncCommand(argv.slice(1), terminalIo);
    await terminalIo.flush();
    return code;
  }
  if (argv[0] === 'verify-target') {
    const code = await verifyTargetCommand(argv.slice(1), terminalIo);
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
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
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
