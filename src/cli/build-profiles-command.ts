/**
 * `collateral-fhir build-profiles`: regenerates the profile pack's snapshots, CodeSystem copies and
 * index from the differentials (profiles/README.md); `--check` only reports stale files (CI).
 */
import { parseArgs } from 'node:util';
import { buildProfilePack } from '../profiles/build.js';
import type { CommandIo } from './io.js';

export const BUILD_PROFILES_USAGE = `  build-profiles  regenerate the snapshots, CodeSystem copies and .index.json of profiles/
          --check            write nothing; exit 1 if a generated file is out of date
          --dir DIR          the pack (default profiles/)`;

export async function buildProfilesCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: 'boolean' }, dir: { type: 'string' } } });
  let files;
  try {
    files = buildProfilePack({ dir: values.dir, write: !values.check });
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 1;
  }
  const changed = files.filter((f) => f.changed);
  changed.forEach((f) => io.out(`${values.check ? 'out of date' : 'written'}: ${f.file}`));
  io.out(`${files.length} generated files, ${changed.length} ${values.check ? 'out of date' : 'rewritten'}`);
  return values.check && changed.length > 0 ? 1 : 0;
}
