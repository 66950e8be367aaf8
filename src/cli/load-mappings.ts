/**
 * Loads a mappings folder for a CLI command, or reports why it does not load (every problem, with its
 * file and path) and returns undefined so the command exits 1.
 */
import { loadMappings, type MappingSet } from '../mapping/index.js';
import type { CommandIo } from './io.js';
import { outcomeLines } from './outcome-text.js';

export function loadMappingsOrReport(io: CommandIo, dir?: string): MappingSet | undefined {
  try {
    return loadMappings(dir);
  } catch (err) {
    io.err('The mappings do not load:');
    outcomeLines(err).forEach((l) => io.err(l));
    return undefined;
  }
}
