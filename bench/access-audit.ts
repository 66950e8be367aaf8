/**
 * What the access audit costs (issue #10), on demand: `npm run bench:access-audit`.
 *
 * 1. Request overhead, side by side in one run: the same app over one store, with and without the
 *    access audit, answering audited record reads (GET /api/v1/sessions/{id} as `source`) in alternating
 *    rounds; requests/s of each and their ratio, and how many rows each flush wrote.
 * 2. Growth: a page of 100 entries by time, by user and by client with 1k, 10k and 100k entries in
 *    the audit (fastest and median of 30 queries each: on a busy machine the fastest shows the cost of
 *    the query itself); flat figures mean index ranges, not scans.
 * Prints the load average beside the figures; they go in docs/security.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessAuditLog } from '../src/audit/access-audit-log.js';
import { buildAccessEvent } from '../src/audit/access-event.js';
import { createAuthenticator } from '../src/auth/authenticator.js';
import { createApp } from '../src/http/app.js';
import { createLogger } from '../src/logger.js';
import type { AccessAuditStore } from '../src/store/port.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const TOKEN = 'bench-admin-token-0123456789abcdef';
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function listen(app: ReturnType<typeof createApp>): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function hammer(url: string, n: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const r = await fetch(`${url}/api/v1/sessions/s-bench`, { headers: { authorization: `Bearer ${TOKEN}` } });
        await r.arrayBuffer();
        if (r.status !== 200) {
          throw new Error(`status ${r.status}`);
        }
      }
    })
  );
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function overhead(dir: string): Promise<void> {
  const store = new SqliteStore(join(dir, 'overhead.sqlite'));
  const flushes: number[] = [];
  const counting: AccessAuditStore = {
    appendAccess: async (e) => {
      flushes.push(e.length);
      await store.accessAudit.appendAccess(e);
    },
    listAccess: (q) => store.accessAudit.listAccess(q),
    purgeAccessBefore: (b, l) => store.accessAudit.purgeAccessBefore(b, l),
  };
  const log = new AccessAuditLog({ store: counting, logger: { error: () => {}, info: () => {} }, retentionDays: 2190 });
  const base = {
    logger: createLogger('error'),
    apiTokens: [],
    authenticator: createAuthenticator({ adminTokens: [TOKEN] }),
    intake: { store, targets: ['t'] },
    store,
    bodyLimitBytes: 1 << 20,
    importLimitBytes: 1 << 20,
    limits: { perCredentialPerMinute: 0, authFailureLimit: 1000, authFailureWindowMs: 60_000 },
  };
  await store.records.putRecord({
    kind: 'session',
    record: { id: 's-bench', client: { mrn: 'MRN-B' } } as never,
    clientMrn: 'MRN-B',
    clientKey: 'MRN-B',
    targets: ['t'],
  });
  const audited = await listen(createApp({ ...base, accessAudit: { log, ns: 'https://ns', mrnSystem: 'https://mrn' } }));
  const plain = await listen(createApp(base));
  const rounds: { audited: number; plain: number }[] = [];
  try {
    await hammer(plain.url, 300, 8); // warm-up
    await hammer(audited.url, 300, 8);
    for (let i = 0; i < 4; i++) {
      rounds.push({ plain: await hammer(plain.url, 2000, 8), audited: await hammer(audited.url, 2000, 8) });
    }
  } finally {
    await log.close();
    audited.server.close();
    plain.server.close();
    await store.close();
  }
  const sum = (k: 'audited' | 'plain'): number => rounds.reduce((a, r) => a + r[k], 0) / rounds.length;
  console.log(`\n## Request overhead (GET of a record as source, 8 at a time, 4 rounds of 2,000 each; load average ${load()})\n`);
  console.log('| Round | without audit (req/s) | with audit (req/s) | ratio |');
  console.log('|---|---:|---:|---:|');
  rounds.forEach((r, i) => console.log(`| ${i + 1} | ${r.plain.toFixed(0)} | ${r.audited.toFixed(0)} | ${(r.audited / r.plain).toFixed(2)} |`));
  console.log(`| mean | ${sum('plain').toFixed(0)} | ${sum('audited').toFixed(0)} | ${(sum('audited') / sum('plain')).toFixed(2)} |`);
  const rows = flushes.reduce((a, b) => a + b, 0);
  console.log(`\n${rows} audit rows in ${flushes.length} transactions (${(rows / flushes.length).toFixed(0)} rows per commit).`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function growth(dir: string): Promise<void> {
  const store = new SqliteStore(join(dir, 'growth.sqlite'));
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  let have = 0;
  console.log(`\n## A page of 100 entries as the audit grows (fastest / median of 30 queries, ms; load average ${load()})\n`);
  console.log('| Entries | by time | by user | by client |');
  console.log('|---:|---:|---:|---:|');
  try {
    for (const size of [1_000, 10_000, 100_000]) {
      while (have < size) {
        const batch = Array.from({ length: Math.min(5000, size - have) }, (_, i) => {
          const n = have + i;
          return buildAccessEvent({
            ns: 'https://ns',
            mrnSystem: 'https://mrn',
            who: `user-${n % 50}`,
            interaction: 'read',
            route: 'GET /api/v1/{collection}/{id}',
            status: 200,
            clientMrns: [`MRN-${n % 10}`],
            items: [{ record: `session/s-${n}` }],
            now: new Date(t0 + n * 1000),
          });
        });
        await store.accessAudit.appendAccess(batch);
        have += batch.length;
      }
      const time = async (q: Parameters<AccessAuditStore['listAccess']>[0]): Promise<string> => {
        const ms: number[] = [];
        for (let i = 0; i < 30; i++) {
          const started = process.hrtime.bigint();
          await store.accessAudit.listAccess(q);
          ms.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        return `${Math.min(...ms).toFixed(2)} / ${median(ms).toFixed(2)}`;
      };
      const mid = new Date(t0 + (size / 2) * 1000);
      const [byTime, byUser, byClient] = [
        await time({ since: mid, limit: 100 }),
        await time({ who: 'user-7', since: mid, limit: 100 }),
        await time({ clientMrn: 'MRN-7', since: mid, limit: 100 }),
      ];
      console.log(`| ${size.toLocaleString('en-US')} | ${byTime} | ${byUser} | ${byClient} |`);
    }
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'collateral-audit-bench-'));
  try {
    await overhead(dir);
    await growth(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  }
);
