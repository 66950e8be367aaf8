/**
 * The deployment settings the command line shares with the service: the environment (as the service
 * reads it, src/config.ts) with command-line overrides. The workbench commands take the mapping
 * settings from it; the commands that talk to a running service (demo, sync) find it with
 * resolveServiceConnection.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_FILE } from '../auth-tokens.js';
import { loadConfig, type Config } from '../config.js';
import type { MappingConfig } from '../mapping/index.js';
import { EMBEDDED_TARGET } from '../service.js';

/** The service's config from the environment; a bad variable is reported like at service start. */
export function serviceConfig(env: Record<string, string | undefined>): Config {
  return loadConfig(env);
}

/** What a mapping reads, from the service config. */
export function mappingConfigOf(config: Config): MappingConfig {
  return {
    ns: config.identifierNamespace,
    mrnSystem: config.mrnSystem,
    includeNonFamilyContactDetails: config.includeNonFamilyContactDetails,
  };
}

/** The sync target's name in the store: the external base URL, or the embedded server. */
export function targetNameOf(config: Config): string {
  return config.fhirBaseUrl ?? EMBEDDED_TARGET;
}

/** The command-line overrides of the service's settings, for the commands that talk to a running service. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  dataDir?: string;
}

/**
 * How a command reaches the running service, and where each part came from, so a failure can say
 * exactly what was tried.
 */
export interface ServiceConnection {
  /** The service's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Where the URL came from: `--url`, `PORT=8123`, `the defaults (PORT and HOST unset)`... */
  urlSource: string;
  /** The API token; undefined when none was found (tokenSource then says what was tried). */
  token?: string;
  /** Where the token came from (`--token`, `API_TOKEN`, `API_TOKENS`, the token file's path), never the token. */
  tokenSource: string;
  /** The token file the service writes at first start when API_TOKENS is unset: `<DATA_DIR>/api-token`. */
  tokenFile: string;
  /** A shell line that puts the token in $TOKEN, for the hints a command prints (never the token itself). */
  tokenShell: string;
  /** The service's configuration as `npm start` would read it (with `--data-dir` applied). */
  config: Config;
}

/**
 * Finds the running service the way `npm start` configures it: PORT, HOST, DATA_DIR and API_TOKENS
 * through the service's own loader (src/config.ts), each overridable by a flag. The token comes from
 * --token, else API_TOKEN (a client-side variable: one token), else the first of API_TOKENS, else the
 * file the service generates, `<DATA_DIR>/api-token`.
 * @param env - the environment (process.env in the CLI).
 * @throws Error naming every bad variable, exactly as the service's start would.
 */
export function resolveServiceConnection(env: Record<string, string | undefined>, flags: ConnectionFlags = {}): ServiceConnection {
  const config = loadConfig(flags.dataDir !== undefined ? { ...env, DATA_DIR: flags.dataDir } : env);
  const tokenFile = join(config.dataDir, TOKEN_FILE);
  const dataDirSource = flags.dataDir !== undefined ? '--data-dir' : env.DATA_DIR ? `DATA_DIR=${env.DATA_DIR}` : 'the default DATA_DIR ./data';

  let url: string;
  let urlSource: string;
  if (flags.url) {
    url = flags.url.replace(/\/+$/, '');
    urlSource = '--url';
  } else {
    // A service listening on every interface is reached on loopback, as the service itself does.
    const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
    const set = ['PORT', 'HOST'].filter((k) => env[k]).map((k) => `${k}=${env[k]}`);
    urlSource = set.length > 0 ? set.join(' and ') : 'the defaults (PORT and HOST unset)';
  }

  const quoted = `'${tokenFile.replace(/'/g, `'\\''`)}'`;
  const base = { url, urlSource, tokenFile, config };
  if (flags.token) {
    return { ...base, token: flags.token, tokenSource: '--token', tokenShell: 'TOKEN=<the token you passed with --token>' };
  }
  if (env.API_TOKEN) {
    return { ...base, token: env.API_TOKEN, tokenSource: 'API_TOKEN', tokenShell: 'TOKEN="$API_TOKEN"' };
  }
  if (config.apiTokens && config.apiTokens.length > 0) {
    return { ...base, token: config.apiTokens[0], tokenSource: 'API_TOKENS (its first token)', tokenShell: 'TOKEN="${API_TOKENS%%,*}"' };
  }
  if (existsSync(tokenFile)) {
    return { ...base, token: readFileSync(tokenFile, 'utf8').trim(), tokenSource: `${tokenFile} (from ${dataDirSource})`, tokenShell: `TOKEN=$(cat ${quoted})` };
  }
  return {
    ...base,
    tokenSource:
      `--token is not given, API_TOKEN and API_TOKENS are unset, and ${tokenFile} (from ${dataDirSource}) does not exist. ` +
      'The service writes that file at its first start when API_TOKENS is unset: start it (npm start) with the same DATA_DIR, ' +
      'or pass --data-dir DIR, --token TOKEN or API_TOKENS as the service has them',
    tokenShell: `TOKEN=$(cat ${quoted})`,
  };
}
