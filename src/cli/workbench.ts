/**
 * The integration engineer's commands (issue #3): map, validate, test-mappings, remap, build-profiles.
 * Each is a function of its arguments and an io, so tests run them in-process with captured output;
 * main.ts hands the command line here first.
 */
import { BUILD_PROFILES_USAGE, buildProfilesCommand } from './build-profiles-command.js';
import type { CommandIo } from './io.js';
import { MAP_USAGE, mapCommand } from './map-command.js';
import { REMAP_USAGE, remapCommand } from './remap-command.js';
import { TEST_MAPPINGS_USAGE, testMappingsCommand } from './test-mappings-command.js';
import { VALIDATE_USAGE, validateCommand } from './validate-command.js';

const COMMANDS: Record<string, (args: string[], io: CommandIo) => Promise<number>> = {
  map: mapCommand,
  validate: validateCommand,
  'test-mappings': testMappingsCommand,
  remap: remapCommand,
  'build-profiles': buildProfilesCommand,
};

/** Usage lines of the workbench commands, for the CLI's help. */
export const WORKBENCH_USAGE = [MAP_USAGE, VALIDATE_USAGE, TEST_MAPPINGS_USAGE, REMAP_USAGE, BUILD_PROFILES_USAGE].join('\n');

/**
 * Runs a workbench command.
 * @param argv - The command line after the program name (`map file.ndjson`).
 * @returns The exit code, or undefined when argv[0] is not a workbench command.
 */
export async function runWorkbenchCommand(argv: string[], io: CommandIo): Promise<number | undefined> {
  const command = COMMANDS[argv[0] ?? ''];
  if (!command) {
    return undefined;
  }
  try {
    return await command(argv.slice(1), io);
  } catch (err) {
    // parseArgs rejects unknown options with a TypeError whose message names the option.
    io.err(err instanceof Error ? err.message : String(err));
    return 2;
  } finally {
    await io.flush?.();
  }
}
