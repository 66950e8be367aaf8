/**
 * `collateral-fhir keys add | list | revoke`: manages API_KEYS_FILE (named credentials with roles,
 * docs/security.md). `add` creates a random token, prints it once on standard output (nothing else goes
 * there, so `TOKEN=$(npx collateral-fhir keys add ...)` works) and stores only its SHA-256; the file is
 * replaced atomically with mode 0600. A running service picks the change up within 2 seconds.
 */
import { parseArgs } from 'node:util';
import { isAbsolute, resolve } from 'node:path';
import { addKey, KeysFileError, readKeysFile, revokeKey } from '../auth/keys-file.js';
import { ROLES } from '../auth/principal.js';
import type { CommandIo } from './io.js';

export const KEYS_USAGE = `  keys add --name NAME --role ROLE [--role ROLE...]
                                      create a key: prints its token ONCE, stores only its SHA-256
  keys list                           names and roles of the keys
  keys revoke --name NAME             remove a key (the running service refuses it within 2 s)
          --file FILE                 the keys file (default $API_KEYS_FILE)
          roles: ${ROLES.join(', ')}`;

const OPTIONS = {
  name: { type: 'string' },
  role: { type: 'string', multiple: true },
  file: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs `keys …`.
 * @param argv - the words after `keys`.
 * @returns the exit code: 0 done, 1 refused (a problem with the file or the key), 2 usage.
 */
export function keysCommand(argv: string[], io: Pick<CommandIo, 'out' | 'err' | 'env'>): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    io.err(`${(err as Error).message}\n\nUsage:\n${KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const sub = positionals[0];
  if (values.help || !sub) {
    io.err(`Usage:\n${KEYS_USAGE}`);
    return values.help ? 0 : 2;
  }
  const fileArg = values.file ?? io.env.API_KEYS_FILE;
  if (!fileArg) {
    io.err('No keys file: pass --file FILE or set API_KEYS_FILE (the same file the service reads).');
    return 2;
  }
  const file = isAbsolute(fileArg) ? fileArg : resolve(process.cwd(), fileArg);
  try {
    switch (sub) {
      case 'add':
        return add(file, values.name, values.role ?? [], io);
      case 'list':
        return list(file, io);
      case 'revoke':
        return revoke(file, values.name, io);
      default:
        io.err(`Unknown keys command "${sub}".\n\nUsage:\n${KEYS_USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof KeysFileError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

function add(file: string, name: string | undefined, roles: string[], io: Pick<CommandIo, 'out' | 'err'>): number {
  if (!name || roles.length === 0) {
    io.err(`keys add needs --name and at least one --role (${ROLES.join(', ')}).`);
    return 2;
  }
  let token: string;
  try {
    token = addKey(file, name, roles);
  } catch (err) {
    if (err instanceof KeysFileError) {
      // The problems of the new entry, said about the arguments rather than a JSON path.
      const last = readKeysFile(file).length;
      const mine = err.problems.filter((p) => p.path.startsWith(`/${last}/`) || p.path.startsWith(`/${last}`));
      if (mine.length > 0) {
        io.err(`Key not added: ${mine.map((p) => `--${p.path.split('/')[2] === 'roles' ? 'role' : p.path.split('/')[2]}: ${p.message}`).join('; ')}`);
        return 1;
      }
    }
    throw err;
  }
  io.out(token);
  io.err(`Added key "${name}" (${[...new Set(roles)].join(', ')}) to ${file}. The token above is shown once; store it now.`);
  return 0;
}

function list(file: string, io: Pick<CommandIo, 'out'>): number {
  const keys = readKeysFile(file);
  if (keys.length === 0) {
    io.out('(no keys)');
    return 0;
  }
  const width = Math.max(4, ...keys.map((k) => k.name.length));
  io.out(`${'NAME'.padEnd(width)}  ROLES${' '.repeat(30)}CREATED`);
  for (const k of keys) {
    io.out(`${k.name.padEnd(width)}  ${k.roles.join(',').padEnd(35)}${k.createdAt ?? ''}`);
  }
  return 0;
}

function revoke(file: string, name: string | undefined, io: Pick<CommandIo, 'out' | 'err'>): number {
  if (!name) {
    io.err('keys revoke needs --name.');
    return 2;
  }
  if (!revokeKey(file, name)) {
    io.err(`No key named "${name}" in ${file}.`);
    return 1;
  }
  io.err(`Revoked key "${name}". A running service refuses its token within 2 seconds.`);
  return 0;
}
