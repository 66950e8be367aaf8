/**
 * `collateral-fhir sync status | dead-letters | replay | retry | review`: the operations surface of the
 * sync (issue #5 item 8) over a running service's API, so it works wherever the API is reachable and
 * a replay goes through the worker (consent checked again) like any other send.
 */
import { parseArgs } from 'node:util';
import { createApiClient, explainAnswer, ServiceUnreachableError, type ApiClient } from './api-client.js';
import { resolveServiceConnection } from './cli-config.js';

/** Where the command writes (the terminal, or buffers in tests); the same shape as the workbench's io. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

/** The process's terminal; flush() resolves once everything written reached it (the CLI exits right after). */
export const terminalIo: CommandIo & { flush(): Promise<void> } = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
  flush: () => new Promise((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve()))),
};

export const SYNC_USAGE = `  sync status                         records per state and target, queue, oldest pending, dead letters
  sync dead-letters [KIND/ID]         list dead letters (or show one, with the target's OperationOutcome)
  sync replay KIND/ID...              queue dead letters again (one by one)
  sync replay --all | FILTER          queue every dead letter matching FILTER again
  sync retry [KIND/ID] [FILTER] [--state held|failed|not-writable]
                                      retry waiting records now (not-writable: plan them again)
  sync review [FILTER]                held records the target's Patient/Practitioner lookup refused
          FILTER: --target T --kind K --client MRN --reason CODE
          --url URL --token TOKEN --data-dir DIR
                                      the service (default: as npm start reads PORT, HOST, DATA_DIR, API_TOKENS;
                                      the token from --token, API_TOKEN, API_TOKENS or DATA_DIR/api-token)
          --json                      print the API's JSON answer`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  target: { type: 'string' },
  kind: { type: 'string' },
  client: { type: 'string' },
  reason: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}
type Values = ReturnType<typeof parse>['values'];

/**
 * Runs `sync …`.
 * @param argv - the words after `sync`.
 * @param api - an API client (tests pass one); otherwise built from --url/--token and the environment.
 */
export async function syncCommand(argv: string[], io: CommandIo, api?: ApiClient): Promise<number> {
  const { values, positionals } = parse(argv);
  const [sub, ...keys] = positionals;
  const client = api ?? connect({ url: values.url, token: values.token, dataDir: values['data-dir'] }, io);
  if (!client) {
    return 2;
  }
  try {
    return await run(sub, keys, values, client, io);
  } catch (err) {
    if (err instanceof ServiceUnreachableError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

async function run(sub: string | undefined, keys: string[], values: Values, client: ApiClient, io: CommandIo): Promise<number> {
  const filter = {
    ...(values.target ? { target: values.target } : {}),
    ...(values.kind ? { kind: values.kind } : {}),
    ...(values.client ? { client: values.client } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
  };
  const query = (extra: Record<string, string> = {}): string => {
    const q = new URLSearchParams({ ...filter, ...(values.limit ? { limit: values.limit } : {}), ...extra }).toString();
    return q ? `?${q}` : '';
  };
  const show = (body: unknown, text: () => string): void => io.out(values.json ? JSON.stringify(body, null, 2) : text());
  const fail = (r: { status: number; body: any }): number => {
    io.err(explainAnswer(client, r));
    return 1;
  };

  switch (sub) {
    case 'status': {
      const r = await client.call('GET', '/api/v1/sync/status');
      if (r.status !== 200) return fail(r);
      show(r.body, () => statusText(r.body));
      return 0;
    }
    case 'dead-letters': {
      if (keys.length > 0) {
        let code = 0;
        for (const key of keys) {
          const k = parseKey(key, io);
          if (!k) return 2;
          const r = await client.call('GET', `/api/v1/sync/dead-letters/${k.kind}/${encodeURIComponent(k.id)}${query()}`);
          if (r.status !== 200) {
            code = fail(r);
            continue;
          }
          show(r.body, () => r.body.deadLetters.map(deadLetterDetail).join('\n'));
        }
        return code;
      }
      const r = await client.call('GET', `/api/v1/sync/dead-letters${query()}`);
      if (r.status !== 200) return fail(r);
      show(r.body, () => (r.body.count === 0 ? 'No dead letters.' : r.body.deadLetters.map(deadLetterLine).join('\n')));
      return 0;
    }
    case 'replay': {
      if (keys.length > 0) {
        let total = 0;
        for (const key of keys) {
          const k = parseKey(key, io);
          if (!k) return 2;
          const r = await client.call('POST', `/api/v1/sync/dead-letters/${k.kind}/${encodeURIComponent(k.id)}/replay${query()}`);
          if (r.status !== 200) return fail(r);
          total += r.body.replayed;
        }
        show({ replayed: total }, () => `Queued again: ${total}. The worker sends them after checking consent again.`);
        return 0;
      }
      if (!values.all && Object.keys(filter).length === 0) {
        io.err('Name the dead letters (KIND/ID), a filter (--target --kind --client --reason) or --all.');
        return 2;
      }
      const r = await client.call('POST', '/api/v1/sync/dead-letters/replay', JSON.stringify(values.all ? { ...filter, all: true } : filter));
      if (r.status !== 200) return fail(r);
      show(r.body, () => `Queued again: ${r.body.replayed}. The worker sends them after checking consent again.`);
      return 0;
    }
    case 'retry': {
      const ids = keys.map((key) => parseKey(key, io));
      if (ids.some((k) => !k)) return 2;
      const bodies = ids.length > 0 ? ids.map((k) => ({ ...filter, kind: k!.kind, id: k!.id })) : [filter];
      let total = 0;
      for (const b of bodies) {
        const r = await client.call('POST', '/api/v1/sync/retry', JSON.stringify({ ...b, ...(values.state ? { state: values.state } : {}) }));
        if (r.status !== 200) return fail(r);
        total += r.body.woken ?? r.body.queued ?? 0;
      }
      show({ retried: total }, () => `Due now: ${total}.`);
      return 0;
    }
    case 'review': {
      const r = await client.call('GET', `/api/v1/sync/review${query()}`);
      if (r.status !== 200) return fail(r);
      show(r.body, () =>
        r.body.count === 0
          ? 'Nothing to review.'
          : r.body.review.map((s: any) => `${s.kind}/${s.recordId}  ${s.target}  client ${s.clientMrn ?? '-'}  ${s.reason ?? s.reasonCode}`).join('\n')
      );
      return 0;
    }
    default:
      io.err(`Usage:\n${SYNC_USAGE}`);
      return 2;
  }
}

/** The service as npm start configures it (PORT, HOST, DATA_DIR, API_TOKENS), with the flags applied. */
function connect(flags: { url?: string; token?: string; dataDir?: string }, io: CommandIo): ApiClient | undefined {
  let conn;
  try {
    conn = resolveServiceConnection(io.env, flags);
  } catch (err) {
    io.err((err as Error).message);
    return undefined;
  }
  if (!conn.token) {
    io.err(`No API token for the service at ${conn.url} (URL from ${conn.urlSource}): ${conn.tokenSource}.`);
    return undefined;
  }
  return createApiClient(conn.url, conn.token, { urlSource: conn.urlSource, tokenSource: conn.tokenSource });
}

function parseKey(key: string, io: CommandIo): { kind: string; id: string } | undefined {
  const m = /^(participant|consent|session|note)\/([A-Za-z0-9._-]{1,64})$/.exec(key);
  if (!m) {
    io.err(`"${key}" is not KIND/ID (participant, consent, session or note, e.g. note/n-001)`);
    return undefined;
  }
  return { kind: m[1], id: m[2] };
}

function statusText(body: any): string {
  const lines: string[] = [];
  for (const [target, states] of Object.entries<Record<string, number>>(body.targets ?? {})) {
    lines.push(`${target}: ${Object.entries(states).map(([s, n]) => `${s} ${n}`).join(', ') || 'nothing'}`);
    const d = body.delivery?.[target];
    if (d) {
      const age = d.oldestPendingAgeSeconds !== undefined ? `, oldest pending ${d.oldestPendingAgeSeconds} s` : '';
      const held = Object.entries<number>(d.heldBy ?? {}).map(([c, n]) => `${c} ${n}`).join(', ');
      lines.push(`  queued ${d.queued}${age}, dead letters ${d.deadLetters}${held ? `; held: ${held}` : ''}`);
    }
  }
  lines.push(`outbox ${body.outbox}, dead letters ${body.deadLetters}`);
  return lines.join('\n');
}

function deadLetterLine(d: any): string {
  return `${d.kind}/${d.recordId}  v${d.recordVersion}  ${d.target}  client ${d.clientMrn ?? '-'}  since ${d.deadAt}  ${d.reasonCode ?? ''}: ${d.reason ?? ''}`;
}

function deadLetterDetail(d: any): string {
  return `${deadLetterLine(d)}\n${d.outcome ? JSON.stringify(d.outcome, null, 2) : '(no OperationOutcome)'}`;
}

