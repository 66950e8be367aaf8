/**
 * Durability of the group commit and of import jobs, against a real process killed with SIGKILL:
 * every PUT answered before the kill is there after the restart (at least at the version answered),
 * and an import job killed mid-way says how far it had committed, with exactly those lines' records
 * and results stored and nothing after them.
 */
import { once } from 'node:events';
import { buildService, type ChildService, startChild } from '../helpers/built-service.js';
import { records } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';
import { openUpload, participantLines } from '../import/helpers.js';

const TOKEN = 'kill9-intake-token-0123456789';
const H = { authorization: `Bearer ${TOKEN}` };
const RELATIONSHIPS = ['mother', 'father', 'guardian', 'sibling', 'teacher'];

describe('kill -9 after answers', () => {
  const tmp = tempDir();
  let mainJs: string;
  beforeAll(() => {
    mainJs = buildService('intake-kill9');
  });
  afterAll(() => tmp.cleanup());

  const start = (dir: string): Promise<ChildService> => startChild(mainJs, { DATA_DIR: dir, API_TOKENS: TOKEN, SYNC_ENABLED: 'false' }, 90_000);
  const kill = async (svc: ChildService): Promise<void> => {
    svc.child.kill('SIGKILL');
    await once(svc.child, 'exit');
  };

  test('every PUT answered before the kill is there, at least at the version answered', async () => {
    const dir = `${tmp.dir}/puts`;
    let svc = await start(dir);
    // id -> highest version answered (a few ids are written again and again, concurrently).
    const answered = new Map<string, number>();
    let dead = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !dead; i++) {
        const id = i % 4 === 0 ? `p-same${w % 5}` : `p-w${w}-${i}`;
        const body = { ...records.participant, id, relationship: RELATIONSHIPS[i % RELATIONSHIPS.length] };
        try {
          const res = await fetch(`${svc.url}/api/v1/participants/${id}`, { method: 'PUT', headers: { ...H, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          const answer = (await res.json()) as { version: number };
          if (res.status < 300) {
            answered.set(id, Math.max(answered.get(id) ?? 0, answer.version));
          }
        } catch {
          return; // the process is gone
        }
      }
    };
    const writers = Promise.all(Array.from({ length: 40 }, (_, w) => writer(w)));
    const killAfter = 300 + Math.floor(Math.random() * 300);
    while ([...answered.values()].length < killAfter) {
      await new Promise((r) => setTimeout(r, 2));
    }
    await kill(svc); // right after the answers: no grace period
    dead = true;
    await writers;

    svc = await start(dir);
    try {
      for (const [id, version] of answered) {
        const res = await fetch(`${svc.url}/api/v1/participants/${id}`, { headers: H });
        const body = (await res.json()) as { version?: number };
        expect({ id, status: res.status, atLeast: (body.version ?? 0) >= version }).toEqual({ id, status: 200, atLeast: true });
      }
    } finally {
      await kill(svc);
    }
  }, 240_000);

  test('an import job killed mid-way: its status after the restart says how far it committed, and exactly that is stored', async () => {
    const dir = `${tmp.dir}/job`;
    let svc = await start(dir);
    const up = openUpload(svc.url, TOKEN);
    await up.write(participantLines('k', 250));
    const location = (await up.response).headers['content-location'] as string;
    let acknowledged = 0;
    const writing = (async () => {
      for (let from = 251; from < 20_000; from += 50) {
        if (up.req.destroyed) {
          return;
        }
        up.req.write(participantLines('k', 50, from)); // not awaited: after the kill its callback may never come
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    while (acknowledged < 300) {
      const res = await fetch(`${svc.url}${location}`, { headers: H });
      acknowledged = ((await res.json()) as { linesRead: number }).linesRead;
    }
    await kill(svc);
    up.req.destroy();
    await writing;

    svc = await start(dir);
    try {
      const job = (await (await fetch(`${svc.url}${location}`, { headers: H })).json()) as any;
      const n = job.linesRead;
      expect(n).toBeGreaterThanOrEqual(acknowledged); // nothing acknowledged in the status is lost
      expect(job).toMatchObject({ state: 'failed', accepted: n, rejected: 0, message: `interrupted by a restart after line ${n}; lines 1..${n} are committed` });
      const results = (await (await fetch(`${svc.url}${location}/results`, { headers: H })).text()).split('\n').filter(Boolean);
      expect(results).toHaveLength(n);
      expect(JSON.parse(results[n - 1])).toMatchObject({ line: n, id: `p-k${n}`, status: 'accepted' });
      for (const i of [1, Math.ceil(n / 2), n]) {
        expect((await fetch(`${svc.url}/api/v1/participants/p-k${i}`, { headers: H })).status).toBe(200);
      }
      expect((await fetch(`${svc.url}/api/v1/participants/p-k${n + 1}`, { headers: H })).status).toBe(404);
    } finally {
      await kill(svc);
    }
  }, 240_000);
});
