/**
 * The ONLY importer of fhir-kit-client. Translates its thrown plain errors into OperationOutcomeError
 * (upstreamFailed) at this edge, so nothing else ever sees `error.response`.
 */
import { isOperationOutcome } from '@medplum/core';
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { staticTokenSource, type AccessTokenSource } from './auth/index.js';
import { OperationOutcomeError, upstreamFailed } from '../outcomes.js';
import type { FhirTarget } from './port.js';

export interface KitClientTargetOptions {
  name: string;
  baseUrl: string;
  /** A fixed bearer token (or none); ignored when `auth` is given. */
  bearerToken?: () => string | undefined;
  /** Where each request's token comes from (OAuth2 tokens expire and rotate); see auth/index.ts. */
  auth?: AccessTokenSource;
  timeoutMs: number;
}

/**
 * Creates a FhirTarget over HTTP.
 * @param options - base URL, auth and timeout.
 */
export function createKitClientTarget(options: KitClientTargetOptions): FhirTarget {
  const client = new Client({ baseUrl: options.baseUrl });

  const auth = options.auth ?? staticTokenSource(() => options.bearerToken?.());

  async function call<T>(fn: (signal: AbortSignal, headers: Record<string, string>) => Promise<unknown>): Promise<T> {
    // A token failure is already an outcome (auth/token-endpoint.ts) and must not be translated below.
    let token = await auth.token();
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/fhir+json' };
      if (token) {
        headers.authorization = `Bearer ${token}`;
      }
      try {
        return (await fn(AbortSignal.timeout(options.timeoutMs), headers)) as T;
      } catch (err) {
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
      call<CapabilityStatement>((signal, headers) => client.capabilityStatement({ signal, headers })),
    search: (resourceType, params) =>
      call<Bundle>((signal, headers) =>
        client.search({ resourceType, searchParams: params, options: { signal, headers } })
      ),
    transaction: (bundle) =>
      call<Bundle>((signal, headers) => client.transaction({ body: bundle as any, options: { signal, headers } })),
    read: (resourceType, id) =>
      call<Resource>((signal, headers) => client.read({ resourceType, id, options: { signal, headers } })),
  };
}

function translateError(err: unknown): OperationOutcomeError {
  const e = err as { response?: { status?: unknown; data?: unknown }; name?: string; cause?: { code?: string } };
  if (typeof e?.response?.status === 'number') {
    const data = e.response.data;
    return new OperationOutcomeError(
      upstreamFailed(e.response.status, isOperationOutcome(data) ? data : undefined),
      err
    );
  }
  // No answer: timeout, refused or reset connection. The request may or may not have been applied.
  const why = e?.name === 'TimeoutError' ? 'timed out' : (e?.cause?.code ?? 'connection failed');
  return new OperationOutcomeError(upstreamFailed(0, undefined, `No answer from the FHIR server (${why})`), err);
}
