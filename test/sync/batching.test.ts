/**
 * Batching toward the target (issue #8 item 3), through the real service to a real embedded FHIR server
 * (full profile: transactions), with a recording proxy in between that refuses, as a whole, any
 * transaction carrying one poisoned session: records of different clients share transaction Bundles (at
 * most SYNC_MAX_BUNDLE_ENTRIES entries, never two records of one client), a refused combined transaction
 * is isolated (each record sent again alone, so only the poisoned one fails), and every other record is
 * on the target exactly once.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { buildDataset, identifierOf, toNdjson } from './dataset.js';

const POISON = 's-b2-poison';
const MAX_ENTRIES = 20;

interface Seen {
  entries: number;
  /** Per main resource type written, the subjects (Patient references) of those entries. */
  subjects: Record<string, string[]>;
  poisoned: boolean;
  refused: boolean;
}

/** Forwards to the target, records each transaction, refuses (400) any transaction naming the poisoned session. */
async function poisonProxy(upstream: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const up = new URL(upstream);
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const bundle = req.method === 'POST' && text.includes('"transaction"') ? (JSON.parse(text) as Bundle) : undefined;
      if (bundle?.type === 'transaction') {
        const subjects: Record<string, string[]> = {};
        for (const e of bundle.entry ?? []) {
          const r = e.resource as (Resource & { subject?: { reference?: string }; patient?: { reference?: string } }) | undefined;
          if (r && r.resourceType !== 'Provenance') {
            (subjects[r.resourceType] ??= []).push(r.subject?.reference ?? r.patient?.reference ?? '');
          }
        }
        const poisoned = text.includes(POISON);
        seen.push({ entries: bundle.entry?.length ?? 0, subjects, poisoned, refused: poisoned });
        if (poisoned) {
          res.writeHead(400, { 'content-type': 'application/fhir+json' });
          res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', details: { text: 'refused by the test' } }] }));
          return;
        }
      }
      const upReq = request({ hostname: up.hostname, port: up.port, path: `${up.pathname.replace(/\/$/, '')}${req.url}`, method: req.method, headers: { ...req.headers, host: up.host } }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      upReq.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upReq.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('records share Bundles toward the target', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let proxy: Awaited<ReturnType<typeof poisonProxy>>;
  let svc: TestService;

  beforeAll(async () => {
    target = await startFhirTarget('full', `${tmp.dir}/target`);
    proxy = await poisonProxy(target.url);
    svc = await startTestService(`${tmp.dir}/svc`, { FHIR_BASE_URL: proxy.url, SYNC_MAX_BUNDLE_ENTRIES: String(MAX_ENTRIES), SYNC_CONCURRENCY: '2' });
  });
  afterAll(async () => {
    await svc.close();
    await proxy.close();
    await target.close();
    tmp.cleanup();
  });

  test('combined transactions keep clients apart; a refused one is isolated and only the bad record fails; the rest land exactly once', async () => {
    const data = buildDataset({ clients: 8, sessionsPerClient: 3, prefix: 'b' });
    // One session of one client is poisoned: the proxy refuses any transaction that carries it.
    const poisoned = data.records.find((r) => r.record.id === 's-b2-1')!;
    poisoned.record.id = POISON;
    const orphan = data.records.find((r) => r.kind === 'note' && r.record.sessionId === 's-b2-1')!;
    orphan.record.sessionId = POISON;
    await target.seed(data.seed);
    const imported = await svc.api('POST', '/api/v1/import', toNdjson(data.records), { 'content-type': 'application/x-ndjson' });
    expect(imported.body.rejected).toBe(0);

    const name = proxy.url;
    await waitFor(async () => {
      const states = (await svc.api('GET', '/api/v1/sync/status')).body.targets[name] ?? {};
      return !states.pending && !states.failed && (states['dead-letter'] ?? 0) === 1 && (states.synced ?? 0) > 0;
    }, 90_000, 'the sync to settle');

    // The poisoned session is parked with the target's refusal; its note waits for it; nothing else failed.
    const dead = (await svc.api('GET', '/api/v1/sync/dead-letters')).body.deadLetters;
    expect(dead).toEqual([expect.objectContaining({ kind: 'session', recordId: POISON, reasonCode: 'upstream-400' })]);
    expect((await svc.store.status.getSyncStates('note', orphan.record.id))[0]).toMatchObject({ state: 'held', reasonCode: 'waiting-for-dependency' });
    for (const r of data.permitted.filter((x) => x !== poisoned && x !== orphan)) {
      const { type, system, value } = identifierOf(r);
      expect({ record: r.record.id, onTarget: await target.countByIdentifier(type, system, value) }).toEqual({ record: r.record.id, onTarget: 1 });
      expect({ record: r.record.id, state: (await svc.store.status.getSyncStates(r.kind, r.record.id))[0].state }).toEqual({ record: r.record.id, state: 'synced' });
    }

    // Records of several clients went together, never two sessions or notes of one client in one Bundle.
    const sent = proxy.seen;
    expect(sent.every((b) => b.entries <= MAX_ENTRIES)).toBe(true);
    const clientsIn = (b: Seen): number => new Set(Object.values(b.subjects).flat()).size;
    expect(sent.some((b) => clientsIn(b) > 1)).toBe(true);
    for (const b of sent) {
      for (const type of ['Encounter', 'DocumentReference']) {
        const subjects = b.subjects[type] ?? [];
        expect(new Set(subjects).size).toBe(subjects.length);
      }
    }
    // The refused combined transaction was isolated: its poisoned record was then sent alone (and refused alone).
    const refused = sent.filter((b) => b.refused);
    expect(refused.some((b) => clientsIn(b) > 1)).toBe(true);
    expect(refused.some((b) => clientsIn(b) === 1)).toBe(true);
  }, 120_000);
});
