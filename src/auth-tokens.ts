/**
 * API tokens: from API_TOKENS, or else one generated at first start and kept (mode 0600) in the data
 * directory so it survives restarts. The log names the file, never the token.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export const TOKEN_FILE = 'api-token';

export function resolveApiTokens(config: Config, logger: Logger): string[] {
  if (config.apiTokens) {
    return config.apiTokens;
  }
  const file = join(config.dataDir, TOKEN_FILE);
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    logger.info('generated an API token', { tokenFile: file });
  } else {
    logger.info('using the API token from the data directory', { tokenFile: file });
  }
  return [readFileSync(file, 'utf8').trim()];
}
