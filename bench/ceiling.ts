/**
 * The embedded FHIR server's own ingest ceiling: the resources the sync wrote, posted again as
 * prebuilt transaction Bundles (serialised before the clock starts) to a fresh embedded server, with
 * the same entry shape the sync uses (conditional upsert by identifier), no service in between.
 */
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startStandaloneFhirServer } from '../src/fhir-server/standalone.js';

export interface IngestResult {
  bundleSize: number;
  inFlight: number;
  bundles: number;
  resources: number;
  ms: number;
}

/** A resource as a client would send it: no server id, version or timestamps. */
function asSent(r: Resource): Resource {
  const { id: _id, meta, ...rest } = r;
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta ?? {};
  return (Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest) as Resource;
}

/** The sync's entry shape: PUT Type?identifier=system|value (an upsert); a plain POST without identifier. */
function entryOf(r: Resource): BundleEntry {
  const id = (r as { identifier?: { system?: string; value?: string }[] }).identifier?.find((i) => i.system && i.value);
  const resource = asSent(r);
  return id
    ? { resource, request: { method: 'PUT', url: `${r.resourceType}?identifier=${encodeURIComponent(id.system as string)}|${encodeURIComponent(id.value as string)}` } }
    : { resource, request: { method: 'POST', url: r.resourceType } };
}

async function postBundle(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
  const answer = (await res.json()) as Bundle | OperationOutcome;
  const failed = answer.resourceType === 'Bundle' ? (answer.entry ?? []).filter((e) => !/^2/.test(e.response?.status ?? '')) : [];
  if (res.status !== 200 || failed.length > 0) {
    const why = answer.resourceType === 'OperationOutcome' ? answer.issue?.map((i) => i.details?.text).join('; ') : '';
    throw new Error(`ingest bundle answered ${res.status} (${failed.length} failed entries) ${why ?? ''}`);
  }
}

/**
 * Posts `resources` to a fresh embedded server in `dataDir` and times it.
 * @param resources - What the sync wrote (read back from its server).
 * @param seed - Patients and Practitioners, stored first with their ids so references resolve as before.
 * @param options - Entries per Bundle, Bundles in flight, the data folder.
 * @returns Counts and milliseconds (seeding excluded).
 */
export async function measureIngest(
  resources: Resource[],
  seed: Resource[],
  options: { bundleSize: number; inFlight: number; dataDir: string }
): Promise<IngestResult> {
  const server = await startStandaloneFhirServer({ profile: 'full', dataDir: options.dataDir });
  try {
    // A batch: a transaction takes at most 50 updates (medplum's limit), and seeding is not timed.
    const seedBundle: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: seed.map((r) => ({ resource: { ...asSent(r), id: r.id }, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })),
    };
    await postBundle(server.url, JSON.stringify(seedBundle));

    const bodies: string[] = [];
    for (let i = 0; i < resources.length; i += options.bundleSize) {
      const entry = resources.slice(i, i + options.bundleSize).map(entryOf);
      bodies.push(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
    }
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (next < bodies.length) {
          await postBundle(server.url, bodies[next++]);
        }
      })
    );
    const ms = performance.now() - start;
    return { bundleSize: options.bundleSize, inFlight: options.inFlight, bundles: bodies.length, resources: resources.length, ms };
  } finally {
    await server.close();
  }
}
