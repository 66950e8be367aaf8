/**
 * DEID_KEY, the secret behind pseudonyms and date-shift offsets: from the environment, or generated at
 * first start into `DATA_DIR/deid-key` (mode 0600) and kept there, as the API token is. The log names
 * the file, never the key. Losing the key changes every pseudonym (joins with earlier exports break);
 * leaking it lets whoever holds identified data recompute pseudonyms: see docs/deidentification.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEID_KEY_FILE = 'deid-key';

/** Where the key came from, for the start-up log. */
export interface ResolvedDeidKey {
  key: string;
  source: 'environment' | 'generated' | 'file';
  file?: string;
}

/**
 * The key to use.
 * @param configured - DEID_KEY from the configuration (already checked: 32+ characters), if set.
 * @param dataDir - Where a generated key is kept.
 */
export function resolveDeidKey(configured: string | undefined, dataDir: string): ResolvedDeidKey {
  if (configured) {
    return { key: configured, source: 'environment' };
  }
  const file = join(dataDir, DEID_KEY_FILE);
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return { key: readFileSync(file, 'utf8').trim(), source: 'generated', file };
  }
  return { key: readFileSync(file, 'utf8').trim(), source: 'file', file };
}
