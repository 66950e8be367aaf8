/**
 * The embedded FHIR server's own ingest ceiling, measured with the entry shapes the sync sends: the
 * resources the sync wrote, grouped per record with their Provenances, posted again to a fresh embedded
 * server as prebuilt transaction Bundles (serialised before the clock starts), no service in between:
 *
 * - each resource as the sync writes it: `PUT Type?identifier=system|value` (the conditional upsert),
 *   or `POST` + `ifNoneExist: identifier=…` for a Practitioner (create-if-none-exist);
 * - each Provenance as `POST Provenance` + `ifNoneExist: _tag=system|code` with its target pointing at
 *   the write's `urn:uuid` in the same Bundle (the sync's transaction shape);
 * - Bundles of the sync's size (SYNC_MAX_BUNDLE_ENTRIES, whole records), the sync's number in flight.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcome, Provenance, Resource } from '@medplum/fhirtypes';
import { startStandaloneFhirServer } from '../src/fhir-server/standalone.js';
import type { LedgerEntry } from '../src/store/port.js';

export interface IngestResult {
  bundleSize: number;
  inFlight: number;
  bundles: number;
  resources: number;
  ms: number;
}

/** One record's share of what the sync wrote: its resources, then the Provenances attesting them. */
export interface WrittenRecord {
  resources: Resource[];
  provenances: Resource[];
}

/** A resource as a client would send it: no server id, version or timestamps. */
export function asSent(r: Resource): Resource {
  const { id: _id, meta, ...rest } = r;
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta ?? {};
  return (Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest) as Resource;
}

/** The sync's entries for one record (its writes, then their Provenances pointing at the writes' urn:uuid). */
export function recordEntries(r: WrittenRecord): BundleEntry[] {
  const urns = new Map<string, string>();
  const writes = r.resources.map((res): BundleEntry => {
    const fullUrl = `urn:uuid:${randomUUID()}`;
    urns.set(`${res.resourceType}/${res.id}`, fullUrl);
    const id = (res as { identifier?: { system?: string; value?: string }[] }).identifier?.find((i) => i.system && i.value);
    const query = id ? `identifier=${encodeURIComponent(id.system as string)}|${encodeURIComponent(id.value as string)}` : undefined;
    const resource = asSent(res);
    if (!query) {
      return { fullUrl, resource, request: { method: 'POST', url: res.resourceType } };
    }
    return res.resourceType === 'Practitioner'
      ? { fullUrl, resource, request: { method: 'POST', url: 'Practitioner', ifNoneExist: query } }
      : { fullUrl, resource, request: { method: 'PUT', url: `${res.resourceType}?${query}` } };
  });
  const provenances = r.provenances.map((p): BundleEntry => {
    const prov = asSent(p) as Provenance;
    const ref = prov.target?.[0]?.reference ?? '';
    const unversioned = ref.replace(/\/_history\/[^/]+$/, '');
    const tag = prov.meta?.tag?.[0];
    return {
      resource: { ...prov, target: [{ reference: urns.get(unversioned) ?? ref }] },
      request: { method: 'POST', url: 'Provenance', ...(tag?.code ? { ifNoneExist: `_tag=${encodeURIComponent(tag.system ?? '')}|${tag.code}` } : {}) },
    };
  });
  return [...writes, ...provenances];
}

/**
 * POSTs a Bundle. A connection the server closed while idle (keep-alive) is reset before the request
 * reaches it: sent again once on a fresh one.
 */
async function postBundle(url: string, body: string): Promise<void> {
  const send = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
  const res = await send().catch(async (err: unknown) => {
    if (!/ECONNRESET|other side closed/.test(String((err as { cause?: unknown }).cause ?? err))) {
      throw err;
    }
    return send();
  });
  const answer = (await res.json()) as Bundle | OperationOutcome;
  const failed = answer.resourceType === 'Bundle' ? (answer.entry ?? []).filter((e) => !/^2/.test(e.response?.status ?? '')) : [];
  if (res.status !== 200 || failed.length > 0) {
    const why = answer.resourceType === 'OperationOutcome' ? answer.issue?.map((i) => i.details?.text ?? i.diagnostics).join('; ') : '';
    throw new Error(`ingest bundle answered ${res.status} (${failed.length} failed entries) ${why ?? ''}`);
  }
}

/**
 * Posts what the sync wrote to a fresh embedded server in `dataDir` and times it.
 * @param records - What the sync wrote, per record (read back from its server).
 * @param seed - Patients and Practitioners, stored first with their ids so references resolve as before.
 * @param options - Most entries per Bundle (whole records), Bundles in flight, the data folder.
 * @returns Counts and milliseconds (seeding excluded).
 */
export async function measureIngest(
  records: WrittenRecord[],
  seed: Resource[],
  options: { maxEntries: number; inFlight: number; dataDir: string }
): Promise<IngestResult> {
  const server = await startStandaloneFhirServer({ profile: 'full', dataDir: options.dataDir });
  try {
    for (let i = 0; i < seed.length; i += 500) {
      const entry = seed.slice(i, i + 500).map((r) => ({ resource: { ...asSent(r), id: r.id }, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
      await postBundle(server.url, JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }));
    }
    const bodies: string[] = [];
    let current: BundleEntry[] = [];
    let resources = 0;
    for (const r of records) {
      const entries = recordEntries(r);
      resources += entries.length;
      if (current.length > 0 && current.length + entries.length > options.maxEntries) {
        bodies.push(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: current }));
        current = [];
      }
      current.push(...entries);
    }
    if (current.length > 0) {
      bodies.push(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: current }));
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
    return { bundleSize: options.maxEntries, inFlight: options.inFlight, bundles: bodies.length, resources, ms };
  } finally {
    await server.close();
  }
}

/**
 * What the sync wrote, per record, read back from the server it wrote to by id (batch Bundles of reads).
 * @param fhirUrl - The server's base URL; `headers` carries its credential, if it needs one.
 */
export async function readBack(fhirUrl: string, ledger: LedgerEntry[], headers: Record<string, string> = {}): Promise<WrittenRecord[]> {
  const byId = new Map<string, Resource>();
  for (let i = 0; i < ledger.length; i += 200) {
    const entry = ledger.slice(i, i + 200).map((l) => ({ request: { method: 'GET', url: `${l.resourceType}/${l.resourceId}` } }));
    const res = await fetch(fhirUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }) });
    if (!res.ok) {
      throw new Error(`reading back answered ${res.status}`);
    }
    const answer = (await res.json()) as Bundle;
    for (const e of answer.entry ?? []) {
      if (e.resource?.id) {
        byId.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
      }
    }
  }
  const records = new Map<string, WrittenRecord>();
  for (const l of ledger) {
    const r = byId.get(`${l.resourceType}/${l.resourceId}`);
    if (!r) {
      continue;
    }
    const key = `${l.kind}/${l.recordId}`;
    const rec = records.get(key) ?? { resources: [], provenances: [] };
    (l.resourceType === 'Provenance' ? rec.provenances : rec.resources).push(r);
    records.set(key, rec);
  }
  return [...records.values()];
}
