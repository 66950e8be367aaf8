import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The project root (the folder holding package.json, mappings/ and profiles/). Found by walking up
 * from this file, so it is right both from src/ (tests) and from dist/src/ (built service).
 */
export function projectRoot(): string {
  if (cached) {
    return cached;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'mappings'))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('collateral-fhir: cannot find the project root (package.json with mappings/)');
    }
    dir = parent;
  }
  cached = dir;
  return dir;
}
