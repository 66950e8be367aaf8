/**
 * A stand-in EHR for the profile suites and the invariant test: the real embedded FHIR server, alone on
 * 127.0.0.1:<free port>, restricted by a target profile. Point the service's FHIR_BASE_URL at `url`
 * (directly or through the fault proxy). `/fhir` needs no token unless `token` is given, then exactly
 * `Authorization: Bearer <token>`.
 *
 * `seed`, `search` and `countByIdentifier` go through `adminUrl`, which serves the same data without the
 * profile: on a real EHR, Patients and Practitioners come from registration, and the invariant test
 * must count DocumentReferences by identifier even where the profile cannot search them.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { MedplumLikeOptions } from '../../src/fhir-server/medplum-like.js';
import type { ProfileName } from '../../src/fhir-server/target-profiles.js';
import { startStandaloneFhirServer, type StandaloneFhirServer } from '../../src/fhir-server/standalone.js';

export interface FhirTargetOptions {
  /** Require `Authorization: Bearer <token>` on every request (admin side included). */
  token?: string;
  /** medplum-like only: atomic transactions, quota, conflicts, OAuth clients (medplum-options.ts). */
  medplum?: MedplumLikeOptions;
}

export interface FhirTarget extends StandaloneFhirServer {
  /**
   * Writes resources on the admin side in one transaction: a resource with an identifier is a
   * conditional create on its first identifier (seeding twice changes nothing), one without is a plain create.
   * @returns The stored resources (with ids), in order.
   */
  seed(resources: Resource[]): Promise<Resource[]>;
  /** Every resource of `type` matching `query` (all pages), read on the admin side. */
  search(type: string, query?: Record<string, string>): Promise<Resource[]>;
  /** How many resources of `type` carry the identifier `system|value` (the exactly-once check). */
  countByIdentifier(type: string, system: string, value: string): Promise<number>;
}

/**
 * Starts a standalone embedded FHIR server with a profile.
 * @param profile - full, epic-like, oracle-like or medplum-like.
 * @param dataDir - Folder of its database; reuse it to restart the target with its data.
 * @param options - An optional bearer token; medplum-like options.
 * @returns The running target; call close() in afterAll.
 */
export async function startFhirTarget(profile: ProfileName, dataDir: string, options: FhirTargetOptions = {}): Promise<FhirTarget> {
  const server = await startStandaloneFhirServer({ profile, dataDir, token: options.token, medplum: options.medplum });
  const headers: Record<string, string> = {
    accept: 'application/fhir+json',
    'content-type': 'application/fhir+json',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
  };
  const call = async (method: string, url: string, body?: unknown): Promise<any> => {
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json: unknown = await res.json();
    if (!res.ok) {
      throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`);
    }
    return json;
  };

  const search: FhirTarget['search'] = async (type, query = {}) => {
    const found: Resource[] = [];
    let next: string | undefined = `${server.adminUrl}/${type}?${new URLSearchParams({ _count: '1000', ...query })}`;
    while (next) {
      const page: Bundle = await call('GET', next);
      found.push(...(page.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])));
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    return found;
  };

  return {
    ...server,
    async seed(resources) {
      const answer: Bundle = await call('POST', server.adminUrl, seedBundle(resources));
      return (answer.entry ?? []).map((e) => e.resource as Resource);
    },
    search,
    async countByIdentifier(type, system, value) {
      return (await search(type, { identifier: `${system}|${value}` })).length;
    },
  };
}

/**
 * The transaction Bundle that seeds resources on a target: each created unless one with its first
 * identifier exists (the same seeding on the HTTP target and the in-memory one).
 */
export function seedBundle(resources: Resource[]): Bundle {
  const entry = resources.map((resource): BundleEntry => {
    const id = (resource as { identifier?: { system?: string; value?: string }[] }).identifier?.[0];
    return {
      resource,
      request: {
        method: 'POST',
        url: resource.resourceType,
        ...(id?.value ? { ifNoneExist: `identifier=${encodeURIComponent(id.system ?? '')}|${encodeURIComponent(id.value)}` } : {}),
      },
    };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
