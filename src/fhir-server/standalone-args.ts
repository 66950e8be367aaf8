/**
 * The settings of `npm run fhir-target` from its command line and environment (flags win over env).
 * Every problem is reported at once, each naming the flag and its variable.
 *
 * | flag | variable | meaning |
 * |---|---|---|
 * | --profile | FHIR_PROFILE | full, epic-like, oracle-like, medplum-like (default full) |
 * | --port | PORT | default 8090 (0 = any free port) |
 * | --host | HOST | default 127.0.0.1 |
 * | --data-dir | DATA_DIR | default ./data/fhir-target |
 * | --token | FHIR_TOKEN | static bearer token (under medplum-like with clients: for /fhir/_admin only) |
 * | --log-level | LOG_LEVEL | default info |
 * | --atomic | MEDPLUM_ATOMIC_TRANSACTIONS=true | medplum-like: the transaction-bundles feature |
 * | --quota | MEDPLUM_FHIR_QUOTA | medplum-like: quota points per client per window |
 * | --quota-window | MEDPLUM_FHIR_QUOTA_WINDOW_S | medplum-like: window in seconds (default 60) |
 * | --conflict-rate | MEDPLUM_CONFLICT_RATE | medplum-like: fraction of writes answered 409 |
 * | --seed | MEDPLUM_SEED | medplum-like: seed of the conflict draws |
 * | --client id:secret (repeatable) | MEDPLUM_CLIENTS=id:secret,id2:secret2 | medplum-like: OAuth2 clients |
 * | --token-lifetime | MEDPLUM_TOKEN_LIFETIME_S | medplum-like: access token lifetime (default 3600) |
 * | --no-retry-after | MEDPLUM_RETRY_AFTER=false | medplum-like: no Retry-After on 429 (as medplum) |
 */
import { parseArgs } from 'node:util';
import type { MedplumLikeOptions } from './medplum-options.js';
import { medplumOptionProblems } from './medplum-options.js';
import type { ProfileName } from './target-profiles.js';
import { PROFILE_NAMES } from './target-profiles.js';

/** What standalone-main.ts starts. */
export interface TargetSettings {
  profile: ProfileName;
  port: number;
  host: string;
  dataDir: string;
  token?: string;
  logLevel: string;
  /** Only under medplum-like. */
  medplum?: MedplumLikeOptions;
}

const FLAGS = {
  profile: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  token: { type: 'string' },
  'log-level': { type: 'string' },
  atomic: { type: 'boolean' },
  quota: { type: 'string' },
  'quota-window': { type: 'string' },
  'conflict-rate': { type: 'string' },
  seed: { type: 'string' },
  client: { type: 'string', multiple: true },
  'token-lifetime': { type: 'string' },
  'no-retry-after': { type: 'boolean' },
} as const;

/**
 * Reads the settings.
 * @param argv - The arguments after the script (process.argv.slice(2)).
 * @param env - The environment.
 * @returns The settings.
 * @throws Error listing every problem.
 */
export function parseTargetSettings(argv: string[], env: Record<string, string | undefined>): TargetSettings {
  const problems: string[] = [];
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'] = {};
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    problems.push((err as Error).message);
  }
  const pick = (flag: keyof typeof FLAGS, variable: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[variable] || undefined;
  };
  const number = (flag: keyof typeof FLAGS, variable: string, ok: (n: number) => boolean, rule: string): number | undefined => {
    const raw = pick(flag, variable);
    if (raw === undefined) {
      return undefined;
    }
    const n = Number(raw);
    if (raw.trim() === '' || !ok(n)) {
      problems.push(`--${flag} (${variable}) must be ${rule} (got "${raw}")`);
      return undefined;
    }
    return n;
  };

  const profile = pick('profile', 'FHIR_PROFILE') ?? 'full';
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) {
    problems.push(`--profile (FHIR_PROFILE) must be one of ${PROFILE_NAMES.join(', ')} (got "${profile}")`);
  }
  const port = number('port', 'PORT', (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a whole number from 0 to 65535') ?? 8090;

  const medplum: MedplumLikeOptions = {};
  if (values.atomic || /^(1|true|yes)$/i.test(env.MEDPLUM_ATOMIC_TRANSACTIONS ?? '')) {
    medplum.atomicTransactions = true;
  }
  const points = number('quota', 'MEDPLUM_FHIR_QUOTA', (n) => Number.isInteger(n) && n >= 0, 'a whole number of 0 or more');
  const windowSeconds = number('quota-window', 'MEDPLUM_FHIR_QUOTA_WINDOW_S', (n) => n > 0, 'more than 0');
  if (points !== undefined) {
    medplum.quota = { points, ...(windowSeconds !== undefined ? { windowSeconds } : {}) };
  } else if (windowSeconds !== undefined) {
    problems.push('--quota-window (MEDPLUM_FHIR_QUOTA_WINDOW_S) needs --quota (MEDPLUM_FHIR_QUOTA)');
  }
  medplum.conflictRate = number('conflict-rate', 'MEDPLUM_CONFLICT_RATE', (n) => n >= 0 && n <= 1, 'from 0 to 1');
  medplum.seed = number('seed', 'MEDPLUM_SEED', Number.isInteger, 'a whole number');
  medplum.tokenLifetimeSeconds = number('token-lifetime', 'MEDPLUM_TOKEN_LIFETIME_S', (n) => Number.isInteger(n) && n > 0, 'a whole number above 0');
  if (values['no-retry-after'] || /^(0|false|no)$/i.test(env.MEDPLUM_RETRY_AFTER ?? '')) {
    medplum.retryAfterHeader = false;
  }
  const clients = values.client ?? (env.MEDPLUM_CLIENTS ? env.MEDPLUM_CLIENTS.split(',') : []);
  if (clients.length > 0) {
    medplum.clients = parseClients(clients, problems);
  }
  const given = Object.entries(medplum).filter(([, v]) => v !== undefined);
  if (given.length > 0 && profile !== 'medplum-like') {
    problems.push(`${given.map(([k]) => k).join(', ')}: medplum-like options, but the profile is ${profile}`);
  }
  problems.push(...medplumOptionProblems(medplum));
  if (problems.length > 0) {
    throw new Error(`Invalid fhir-target settings:\n- ${problems.join('\n- ')}`);
  }
  return {
    profile: profile as ProfileName,
    port,
    host: pick('host', 'HOST') ?? '127.0.0.1',
    dataDir: pick('data-dir', 'DATA_DIR') ?? './data/fhir-target',
    token: pick('token', 'FHIR_TOKEN'),
    logLevel: pick('log-level', 'LOG_LEVEL') ?? 'info',
    ...(profile === 'medplum-like' ? { medplum: Object.fromEntries(given) as MedplumLikeOptions } : {}),
  };
}

function parseClients(pairs: string[], problems: string[]): Record<string, string> {
  const clients: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    if (at <= 0 || at === pair.length - 1) {
      // Never echo the pair: it holds a secret.
      problems.push('--client (MEDPLUM_CLIENTS) takes client_id:secret, both non-empty');
      continue;
    }
    clients[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return clients;
}
