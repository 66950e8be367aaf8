/**
 * API_KEYS_FILE: named credentials with roles, a JSON array of `{ name, roles, tokenSha256 }`
 * (schemas/api-keys.schema.json). Tokens are never stored, only their SHA-256; a token is shown once,
 * when `keys add` creates it. Writes are atomic (a temp file renamed over the old one, mode 0600) and
 * serialized by a lock file, so the running service never reads half a file and two `keys add` at once
 * do not lose one another's key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ajvProblems } from '../inbound/ajv-problems.js';
import type { Problem } from '../outcomes.js';
import { projectRoot } from '../paths.js';
import type { Role } from './principal.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as typeof addFormatsModule.default;

/** One named credential. */
export interface ApiKey {
  name: string;
  roles: Role[];
  /** Lowercase hex SHA-256 of the token. */
  tokenSha256: string;
  createdAt?: string;
}

/** Names the service uses for its own principals; a key may not take them (the audit would be ambiguous). */
export const RESERVED_NAMES = ['local-admin', 'sync'];

/** A keys file that fails its schema or its rules: every problem, each with its JSON path. */
export class KeysFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[]
  ) {
    super(`API_KEYS_FILE ${file} is not valid:\n  - ${problems.map((p) => `${p.path || '(file)'}: ${p.message}`).join('\n  - ')}`);
  }
}

let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    addFormats(ajv, ['date-time']);
    validator = ajv.compile(JSON.parse(readFileSync(join(projectRoot(), 'schemas', 'api-keys.schema.json'), 'utf8')) as object);
  }
  return validator;
}

/**
 * Parses and checks the text of a keys file: its schema, then unique names and hashes and no
 * reserved name. Every problem at once.
 * @throws KeysFileError
 */
export function parseKeysFile(text: string, file: string): ApiKey[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the text around the error; a keys file holds nothing secret, but keep to one rule.
    throw new KeysFileError(file, [{ path: '', message: 'is not valid JSON' }]);
  }
  const v = validate();
  const problems: Problem[] = v(value)
    ? []
    : ajvProblems(v.errors).map((p) => ({ ...p, message: p.message.replace('is not a field of the contract', 'is not a field of a key') }));
  if (Array.isArray(value)) {
    const names = new Map<string, number>();
    const hashes = new Map<string, number>();
    value.forEach((k: Partial<ApiKey> | null, i) => {
      if (typeof k?.name === 'string') {
        if (names.has(k.name)) {
          problems.push({ path: `/${i}/name`, message: `repeats the name of key ${names.get(k.name)}` });
        }
        if (RESERVED_NAMES.includes(k.name)) {
          problems.push({ path: `/${i}/name`, message: `is reserved for the service's own credentials (${RESERVED_NAMES.join(', ')})` });
        }
        names.set(k.name, i);
      }
      if (typeof k?.tokenSha256 === 'string') {
        if (hashes.has(k.tokenSha256)) {
          problems.push({ path: `/${i}/tokenSha256`, message: `is the same token as key ${hashes.get(k.tokenSha256)}` });
        }
        hashes.set(k.tokenSha256, i);
      }
    });
  }
  if (problems.length > 0) {
    throw new KeysFileError(file, problems);
  }
  return value as ApiKey[];
}

/** Reads and checks a keys file; a missing file has no keys. @throws KeysFileError */
export function readKeysFile(file: string): ApiKey[] {
  if (!existsSync(file)) {
    return [];
  }
  return parseKeysFile(readFileSync(file, 'utf8'), file);
}

/** The stored form of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: 256 bits, base64url, with a prefix secret scanners can recognise. */
export function generateToken(): string {
  return `cfk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Replaces the file atomically: a temp file (mode 0600) in the same folder, flushed to disk, renamed
 * over the old one, then the folder flushed so the rename survives a crash.
 */
export function writeKeysFileAtomic(file: string, keys: ApiKey[]): void {
  const tmp = join(dirname(file), `.${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.keys.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(keys, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dirFd = openSync(dirname(file), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // Some filesystems refuse to fsync a folder; the rename itself is still atomic.
  }
}

/**
 * Runs a read-modify-write of the keys file under a lock file (`<file>.lock`, created exclusively; a
 * lock older than 30 s is from a crashed run and is taken over).
 */
export function updateKeysFile<T>(file: string, change: (keys: ApiKey[]) => { keys: ApiKey[]; result: T }): T {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
      const stale = Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 30_000;
      if (stale) {
        rmSync(lock, { force: true });
      } else if (attempt > 50) {
        throw new Error(`${lock} is held by another keys command; try again`);
      } else {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }
  try {
    const { keys, result } = change(readKeysFile(file));
    writeKeysFileAtomic(file, keys);
    return result;
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Adds a key: creates a token, stores its hash.
 * @returns the token, to be shown once.
 * @throws KeysFileError when the name is taken or invalid, or a role unknown (nothing is written).
 */
export function addKey(file: string, name: string, roles: string[]): string {
  const token = generateToken();
  updateKeysFile(file, (keys) => {
    const next = [...keys, { name, roles: [...new Set(roles)] as Role[], tokenSha256: hashToken(token), createdAt: new Date().toISOString() }];
    // The whole new file must pass the same checks as at start.
    parseKeysFile(JSON.stringify(next), file);
    return { keys: next, result: undefined };
  });
  return token;
}

/** Removes the key of that name. @returns whether there was one. */
export function revokeKey(file: string, name: string): boolean {
  return updateKeysFile(file, (keys) => {
    const next = keys.filter((k) => k.name !== name);
    return { keys: next, result: next.length !== keys.length };
  });
}
