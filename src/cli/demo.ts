/**
 * `npm run demo`: sends the example dataset through a running service on the embedded defaults.
 * Creates the example Patients and Practitioners on the embedded FHIR server, imports
 * examples/records.ndjson, waits for the sync, then prints what went where.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { createKitClientTarget } from '../fhir/kit-client.js';
import { projectRoot } from '../paths.js';
import { createApiClient } from './api-client.js';

const COLLECTION: Record<string, string> = {
  participant: 'participants',
  consent: 'consents',
  session: 'sessions',
  note: 'notes',
};

export interface DemoOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const api = createApiClient(o.url, o.token);
  const health = await fetch(`${o.url}/healthz`).catch(() => undefined);
  if (!health?.ok) {
    console.error(`No collateral-fhir service answers at ${o.url}. Start it first: npm start`);
    return 1;
  }
  const root = projectRoot();
  const fhir = createKitClientTarget({ name: 'demo', baseUrl: `${o.url}/fhir`, bearerToken: () => o.token, timeoutMs: 30_000 });
  const seed = JSON.parse(readFileSync(join(root, 'examples', 'fhir-seed.json'), 'utf8')) as Bundle;
  const seeded = await fhir.transaction(seed);
  console.log(`1. Seeded ${seeded.entry?.length ?? 0} Patients and Practitioners on ${o.url}/fhir (idempotent).`);

  const ndjson = readFileSync(join(root, 'examples', 'records.ndjson'), 'utf8');
  const imported = await api.call('POST', '/api/v1/import', ndjson, 'application/x-ndjson');
  if (imported.status !== 200) {
    console.error(`Import failed with HTTP ${imported.status}:`, JSON.stringify(imported.body, null, 2));
    return 1;
  }
  const b = imported.body;
  console.log(`2. Imported examples/records.ndjson: ${b.accepted} accepted, ${b.unchanged} unchanged, ${b.rejected} rejected.`);

  const started = Date.now();
  const items = (b.results as { kind: string; id: string; status: string }[]).filter((r) => r.status !== 'rejected');
  let states: { kind: string; id: string; sync: any[] }[] = [];
  for (;;) {
    states = await Promise.all(
      items.map(async (r) => ({ kind: r.kind, id: r.id, sync: (await api.call('GET', `/api/v1/${COLLECTION[r.kind]}/${r.id}`)).body.sync }))
    );
    const pending = states.filter((s) => s.sync.some((x: any) => x.state === 'pending'));
    if (pending.length === 0 || Date.now() - started > o.timeoutMs) {
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`3. Sync finished in ${((Date.now() - started) / 1000).toFixed(1)} s:\n`);
  for (const s of states) {
    for (const x of s.sync) {
      const where = x.resources?.map((r: any) => `${r.resourceType}/${r.id}/_history/${r.versionId}`).join(', ');
      console.log(`   ${s.kind.padEnd(11)} ${s.id.padEnd(20)} ${x.state.padEnd(8)} ${where ?? x.reason ?? ''}`);
    }
  }
  const count = (st: string): number => states.filter((s) => s.sync.some((x: any) => x.state === st)).length;
  console.log(`\n   synced ${count('synced')}, held ${count('held')}, failed ${count('failed')}, blocked ${count('blocked')}, pending ${count('pending')}`);
  console.log(`
Where to look (TOKEN=$(cat data/api-token)):
   curl -H "Authorization: Bearer $TOKEN" '${o.url}/fhir/Encounter?_count=5'
   curl -H "Authorization: Bearer $TOKEN" '${o.url}/fhir/DocumentReference?identifier=https://fhir.example-practice.org/sid/note|n-1001-01'
   curl -H "Authorization: Bearer $TOKEN" '${o.url}/api/v1/notes/n-1001-01'
   curl -H "Authorization: Bearer $TOKEN" '${o.url}/api/v1/sync/status'`);
  return count('pending') + count('failed') > 0 ? 1 : 0;
}
