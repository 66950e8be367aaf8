/**
 * Data at rest: the data directory holds PHI (the store, the embedded FHIR server's database, their
 * -wal and -shm files, exports) and secrets (the generated API token). The service creates it 0700 and
 * sets its umask to 077, so everything it creates afterwards (SQLite creates -wal and -shm with the
 * main file's mode) is 0600. At start it checks the folder and the files in it and warns, naming each
 * file and its mode, when any is readable or writable by others than the owner. It does not change the
 * modes of existing files itself (a deployment may have reasons); the warning says how.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.js';

/** A file or folder whose mode lets group or others in. */
export interface LooseMode {
  path: string;
  mode: string;
}

/**
 * Creates the data directory (0700) when missing and tightens the process umask to 077.
 * @returns what is looser than 0700 (the folder) or 0600 (files directly in it).
 */
export function prepareDataDir(dir: string): LooseMode[] {
  if (process.platform !== 'win32') {
    process.umask(0o077);
  }
  let created = false;
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  if (created && process.platform !== 'win32') {
    chmodSync(dir, 0o700); // recursive mkdir applies the mode only to the last folder, and the umask applies too
  }
  return process.platform === 'win32' ? [] : looseModes(dir);
}

/** The folder and its files (not sub-folders' contents) whose mode lets group or others in. */
export function looseModes(dir: string): LooseMode[] {
  const loose: LooseMode[] = [];
  const check = (path: string): void => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && (st.mode & 0o077) !== 0) {
      loose.push({ path, mode: (st.mode & 0o777).toString(8).padStart(4, '0') });
    }
  };
  check(dir);
  for (const name of readdirSync(dir)) {
    check(join(dir, name));
  }
  return loose;
}

/** Logs one warning listing what is too open, with the commands that fix it. */
export function warnLooseModes(loose: LooseMode[], dir: string, logger: Pick<Logger, 'warn'>): void {
  if (loose.length === 0) {
    return;
  }
  logger.warn('data directory permissions are looser than owner-only: PHI may be readable by other users', {
    dataDir: dir,
    loose,
    fix: `chmod 700 "${dir}" && find "${dir}" -type f -exec chmod 600 {} +`,
  });
}
