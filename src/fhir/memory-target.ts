/**
 * A FhirTarget in the same process, for tests that need some FHIR server but not HTTP: medplum's own
 * `FhirRouter` over medplum's own `MemoryRepository` (both from @medplum/fhir-router), without the
 * network. It is not a FHIR server of ours: every call becomes the FHIR request the kit client would
 * send (method, URL with its query, If-None-Exist / If-Match headers, JSON body), is routed exactly as
 * the embedded HTTP server routes it (fhir-server/dispatch.ts: a transaction inside the repository's
 * transaction with its conditional entries resolved first, everything else to the router), and the
 * answer is shaped by the embedded server's own `toHttpAnswer` (status, Location, ETag, page links,
 * response entries). A status of 400 or more is thrown as the same `UpstreamError` the kit client
 * throws for that status, so the sync's outcome classification cannot tell the two apart.
 *
 * Where it differs from the embedded server, because MemoryRepository does (each one is a visible
 * `test.failing` of test/fhir-target-contract/):
 * - transactions are not atomic: its `withTransaction` runs the callback without rolling back;
 * - nothing is validated: a resource the embedded server refuses with 400 is stored;
 * - every update stores a new version, even with unchanged content (the embedded server keeps the
 *   current one); version ids are UUIDs, not 1, 2, 3;
 * - `history` reverses the stored list in place (medplum 4.5.2), so a second history read, or writes
 *   after one, come back in the wrong order.
 * It has no hostile-input checks, no target profiles and no faults: tests of those keep the HTTP server.
 */
import { isOperationOutcome } from '@medplum/core';
import type { FhirRequest, HttpMethod } from '@medplum/fhir-router';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { capabilityStatement } from '../fhir-server/capability.js';
import { queryOf, routeFhirRequest } from '../fhir-server/dispatch.js';
import { type HttpAnswer, toHttpAnswer } from '../fhir-server/responses.js';
import { OperationOutcomeError, toOutcome, upstreamFailed } from '../outcomes.js';
import { loadFhirDefinitions } from './definitions.js';
import type { FhirTarget, WriteResult } from './port.js';
import { UpstreamError } from './upstream-error.js';

/** Options of createMemoryTarget. */
export interface MemoryTargetOptions {
  /** The target's name (the key of its ledger and sync state); default `memory`. */
  name?: string;
  /** The base URL it reports in fullUrls, Location and page links; default `http://memory.invalid/fhir`. */
  baseUrl?: string;
}

/** The in-memory target, and its repository for reads and edits behind the sync's back (tests). */
export interface MemoryFhirTarget extends FhirTarget {
  readonly repo: MemoryRepository;
  history(resourceType: string, id: string): Promise<Bundle>;
  /** The same resources as the embedded admin side would answer: every match of a search, all pages. */
  searchAll(resourceType: string, params?: Record<string, string>): Promise<Resource[]>;
}

/** What an answer looks like once it went over the wire: plain JSON, nothing shared with the repository. */
const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/**
 * Creates an empty in-memory target.
 * @param options - Its name and base URL.
 * @returns The target; it needs no closing.
 */
export function createMemoryTarget(options: MemoryTargetOptions = {}): MemoryFhirTarget {
  loadFhirDefinitions();
  const name = options.name ?? 'memory';
  const baseUrl = (options.baseUrl ?? 'http://memory.invalid/fhir').replace(/\/+$/, '');
  const repo = new MemoryRepository();
  const router = new FhirRouter();

  /** One request through medplum's router; a status of 400 or more is thrown as the kit client throws it. */
  async function send(method: HttpMethod, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: Resource }> {
    const fhirReq: FhirRequest = {
      method,
      url,
      pathname: '',
      params: {},
      query: queryOf(url),
      body: wire(body),
      headers,
      config: { transactions: true },
    };
    const ctx = { base: baseUrl, url };
    let answer: HttpAnswer;
    try {
      const [outcome, resource] = await routeFhirRequest(fhirReq, router, repo);
      answer = toHttpAnswer(outcome, resource, ctx);
    } catch (err) {
      // As http.ts answers anything the router throws.
      answer = toHttpAnswer(toOutcome(err), undefined, ctx);
    }
    if (answer.status >= 400) {
      throw UpstreamError.answered(answer.status, isOperationOutcome(answer.body) ? (wire(answer.body) as OperationOutcome) : undefined, undefined);
    }
    return { ...answer, body: wire(answer.body) };
  }

  const write = async (method: HttpMethod, url: string, body: unknown, headers?: Record<string, string>): Promise<WriteResult> => {
    const answer = await send(method, url, body, headers);
    return {
      status: answer.status,
      ...(typeof answer.body.resourceType === 'string' ? { resource: answer.body } : {}),
      ...(answer.headers.Location ? { location: answer.headers.Location } : {}),
      ...(answer.headers.ETag ? { etag: answer.headers.ETag } : {}),
    };
  };
  const query = (params: Record<string, string>): string => {
    const q = new URLSearchParams(params).toString();
    return q ? `?${q}` : '';
  };
  const path = (...parts: string[]): string => `/${parts.map(encodeURIComponent).join('/')}`;

  const target: MemoryFhirTarget = {
    name,
    baseUrl,
    repo,
    capabilities: async () => memoryCapability(baseUrl),
    search: async (resourceType, params) => (await send('GET', `${path(resourceType)}${query(params)}`)).body as Bundle,
    transaction: async (bundle) => (await send('POST', '/', bundle)).body as Bundle,
    batch: async (bundle) => (await send('POST', '/', bundle)).body as Bundle,
    read: async (resourceType, id) => (await send('GET', path(resourceType, id))).body,
    history: async (resourceType, id) => (await send('GET', `${path(resourceType, id)}/_history`)).body as Bundle,
    vread: async (resourceType, id, versionId) => (await send('GET', `${path(resourceType, id)}/_history/${encodeURIComponent(versionId)}`)).body,
    nextPage: async (bundle) => {
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) {
        return undefined;
      }
      // The kit client's rule: a next link outside this target's origin is never followed.
      const url = new URL(next, baseUrl);
      if (url.origin !== new URL(baseUrl).origin || !url.pathname.startsWith(new URL(baseUrl).pathname)) {
        throw new OperationOutcomeError(upstreamFailed(502, undefined, 'The next page link points outside the target; not followed'));
      }
      return (await send('GET', `${url.pathname.slice(new URL(baseUrl).pathname.length) || '/'}${url.search}`)).body as Bundle;
    },
    create: (resource, o) =>
      write('POST', path(resource.resourceType), resource, o?.ifNoneExist ? { 'if-none-exist': o.ifNoneExist } : undefined),
    update: (resource, o) =>
      write('PUT', path(resource.resourceType, resource.id ?? ''), resource, o?.ifMatch ? { 'if-match': o.ifMatch } : undefined),
    conditionalUpdate: (resource, q) => write('PUT', `${path(resource.resourceType)}${query(q)}`, resource),
    patch: (resourceType, id, operations, o) =>
      write('PATCH', path(resourceType, id), operations, o?.ifMatch ? { 'if-match': o.ifMatch } : undefined),
    async searchAll(resourceType, params = {}) {
      const found: Resource[] = [];
      let page: Bundle | undefined = await target.search(resourceType, { _count: '1000', ...params });
      while (page) {
        found.push(...(page.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])));
        page = await target.nextPage(page);
      }
      return found;
    },
  };
  return target;
}

/**
 * What the memory router supports, from the embedded server's statement (capability.ts): the same types,
 * interactions and search parameters (MemoryRepository searches with medplum's matcher, the one the
 * embedded server's index defers to), `transaction` and `batch` at system level, but no system search
 * (MemoryRepository cannot search several types) and no `$validate` (an operation of our HTTP server).
 * @param baseUrl - Reported as implementation.url.
 * @returns A CapabilityStatement.
 */
export function memoryCapability(baseUrl: string): CapabilityStatement {
  const full = capabilityStatement(baseUrl);
  const rest = full.rest?.[0];
  return {
    ...full,
    software: { name: 'medplum FhirRouter + MemoryRepository (in process, collateral-fhir tests)' },
    implementation: { description: 'medplum MemoryRepository behind medplum FhirRouter, without HTTP', url: baseUrl },
    rest: [{ mode: 'server', resource: rest?.resource ?? [], interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
  };
}
