/**
 * The ONLY importer of fhir-kit-client. Translates its thrown plain errors into OperationOutcomeError
 * (upstreamFailed) at this edge, so nothing else ever sees `error.response`.
 */
import { isOperationOutcome } from '@medplum/core';
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { staticTokenSource, type AccessTokenSource } from './auth/index.js';
import { OperationOutcomeError, upstreamFailed } from '../outcomes.js';
import type { FhirTarget, WriteResult } from './port.js';
import { parseRetryAfter, UpstreamError } from './upstream-error.js';

export interface KitClientTargetOptions {
  name: string;
  baseUrl: string;
  /** A fixed bearer token (or none); ignored when `auth` is given. */
  bearerToken?: () => string | undefined;
  /** Where each request's token comes from (OAuth2 tokens expire and rotate); see auth/index.ts. */
  auth?: AccessTokenSource;
  timeoutMs: number;
  /**
   * Called once per request with what the server answered (status 0: no answer), for metrics and the
   * console's target health. Must not throw; it is never given a body.
   */
  onResponse?: (r: TargetResponse) => void;
}

/** One request's outcome as the onResponse hook sees it: no body, no URL, nothing that can hold PHI. */
export interface TargetResponse {
  /** The FhirTarget method: capabilities, search, transaction, batch, read, vread, history, create, update, conditionalUpdate, patch. */
  operation: string;
  /** HTTP status; 0 when the server did not answer (timeout, refused or reset connection). */
  status: number;
  ms: number;
  /** Retry-After of a 429 or 503, in seconds, when the server sent one. */
  retryAfterSeconds?: number;
}

/**
 * Creates a FhirTarget over HTTP.
 * @param options - base URL, auth and timeout.
 */
export function createKitClientTarget(options: KitClientTargetOptions): FhirTarget {
  const client = new Client({ baseUrl: options.baseUrl });

  const auth = options.auth ?? staticTokenSource(() => options.bearerToken?.());

  const observe = (operation: string, started: number, result: unknown, err?: unknown): void => {
    if (!options.onResponse) {
      return;
    }
    const e = err as { response?: { status?: unknown }; config?: { headers?: { get?: (name: string) => string | null } } } | undefined;
    const status = err
      ? typeof e?.response?.status === 'number'
        ? e.response.status
        : 0
      : (Client.httpFor(result as any)?.response?.status ?? 200);
    const retryAfterMs = err ? parseRetryAfter(e?.config?.headers?.get?.('retry-after')) : undefined;
    try {
      options.onResponse({
        operation,
        status,
        ms: Date.now() - started,
        ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
      });
    } catch {
      // an observer's failure must never change a request's outcome
    }
  };

  async function call<T>(fn: (signal: AbortSignal, headers: Record<string, string>) => Promise<unknown>, operation = 'request'): Promise<T> {
    // A token failure is already an outcome (auth/token-endpoint.ts) and must not be translated below.
    let token = await auth.token();
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/fhir+json' };
      if (token) {
        headers.authorization = `Bearer ${token}`;
      }
      const started = Date.now();
      try {
        const result = await fn(AbortSignal.timeout(options.timeoutMs), headers);
        observe(operation, started, result);
        return result as T;
      } catch (err) {
        observe(operation, started, undefined, err);
        // 401: the token was refused (revoked, expired early, keys rotated) and nothing was applied, so
        // one retry with a renewed token is safe even for a write. Only one: a second 401 is an answer.
        if (attempt === 1 && (err as { response?: { status?: unknown } })?.response?.status === 401) {
          const renewed = await auth.renew(token);
          if (renewed !== undefined && renewed !== token) {
            token = renewed;
            continue;
          }
        }
        throw translateError(err);
      }
    }
  }

  return {
    name: options.name,
    baseUrl: options.baseUrl,
    capabilities: () =>
      call<CapabilityStatement>((signal, headers) => client.capabilityStatement({ signal, headers }), 'capabilities'),
    search: (resourceType, params) =>
      call<Bundle>((signal, headers) => client.search({ resourceType, searchParams: params, options: { signal, headers } }), 'search'),
    transaction: (bundle) =>
      call<Bundle>((signal, headers) => client.transaction({ body: bundle as any, options: { signal, headers } }), 'transaction'),
    read: (resourceType, id) =>
      call<Resource>((signal, headers) => client.read({ resourceType, id, options: { signal, headers } }), 'read'),
    history: (resourceType, id) =>
      call<Bundle>((signal, headers) => client.resourceHistory({ resourceType, id, options: { signal, headers } }), 'history'),
    vread: (resourceType, id, version) =>
      call<Resource>((signal, headers) => client.vread({ resourceType, id, version, options: { signal, headers } }), 'vread'),
    nextPage: async (bundle) => {
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) {
        return undefined;
      }
      if (new URL(next, options.baseUrl).origin !== new URL(options.baseUrl).origin) {
        throw new OperationOutcomeError(upstreamFailed(502, undefined, 'The next page link points outside the target; not followed'));
      }
      return call<Bundle>((signal, headers) => client.nextPage({ bundle: bundle as any, options: { signal, headers } }) as Promise<unknown>, 'search');
    },
    batch: (bundle) =>
      call<Bundle>((signal, headers) => client.batch({ body: bundle as any, options: { signal, headers } }), 'batch'),
    create: (resource, o) =>
      call<Resource>((signal, headers) =>
        client.create({
          resourceType: resource.resourceType,
          body: resource as any,
          options: { signal, headers: o?.ifNoneExist ? { ...headers, 'if-none-exist': o.ifNoneExist } : headers },
        }),
        'create'
      ).then(writeResult),
    update: (resource, o) =>
      call<Resource>((signal, headers) =>
        client.update({
          resourceType: resource.resourceType,
          id: resource.id,
          body: resource as any,
          options: { signal, headers: o?.ifMatch ? { ...headers, 'if-match': o.ifMatch } : headers },
        }),
        'update'
      ).then(writeResult),
    conditionalUpdate: (resource, query) =>
      call<Resource>((signal, headers) =>
        client.update({ resourceType: resource.resourceType, searchParams: query, body: resource as any, options: { signal, headers } }),
        'conditionalUpdate'
      ).then(writeResult),
    patch: (resourceType, id, operations, o) =>
      call<Resource>((signal, headers) =>
        client.patch({
          resourceType,
          id,
          jsonPatch: operations as any,
          options: { signal, headers: o?.ifMatch ? { ...headers, 'if-match': o.ifMatch } : headers },
        }),
        'patch'
      ).then(writeResult),
  };
}

/** The status, Location and ETag of a write, read from the HTTP response fhir-kit-client attaches to its result. */
function writeResult(result: Resource): WriteResult {
  const { response } = Client.httpFor(result as any);
  const body = result as Partial<Resource>;
  return {
    status: response?.status ?? 200,
    ...(typeof body.resourceType === 'string' ? { resource: result } : {}),
    ...(response?.headers.get('location') ? { location: response.headers.get('location') as string } : {}),
    ...(response?.headers.get('etag') ? { etag: response.headers.get('etag') as string } : {}),
  };
}

function translateError(err: unknown): OperationOutcomeError {
  const e = err as {
    response?: { status?: unknown; data?: unknown };
    config?: { headers?: { get?: (name: string) => string | null } };
    name?: string;
    cause?: { code?: string };
  };
  if (typeof e?.response?.status === 'number') {
    const data = e.response.data;
    // Retry-After rides on 429 and 503 (RFC 9110 10.2.3); the retry policy honours it.
    const retryAfter = parseRetryAfter(e.config?.headers?.get?.('retry-after'));
    return UpstreamError.answered(e.response.status, isOperationOutcome(data) ? data : undefined, retryAfter, err);
  }
  // No answer: timeout, refused or reset connection. The request may or may not have been applied.
  const why = e?.name === 'TimeoutError' ? 'timed out' : (e?.cause?.code ?? 'connection failed');
  return UpstreamError.noAnswer(why, err);
}
