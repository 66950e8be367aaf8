/**
 * Finds the token endpoint in the FHIR server's SMART configuration when FHIR_AUTH_TOKEN_URL is not
 * set. Asked at the first token request, not at start: the EHR may be unreachable at start, and the
 * sync retries anyway.
 * See: https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';
import { isSafeForCredentials } from './settings.js';

function discoveryFailure(text: string, cause?: unknown): OperationOutcomeError {
  // Status 0 for the same reason as in token-endpoint.ts: the FHIR request itself was never sent.
  return new OperationOutcomeError(upstreamFailed(0, undefined, `Could not find the token endpoint: ${text}`), cause);
}

/**
 * Reads `token_endpoint` from `<fhirBaseUrl>/.well-known/smart-configuration`.
 * @throws OperationOutcomeError (upstream-failed) when it cannot.
 */
export async function discoverTokenUrl(fhirBaseUrl: string, timeoutMs: number): Promise<string> {
  const url = `${fhirBaseUrl}/.well-known/smart-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw discoveryFailure(`no answer from ${url}`, err);
  }
  if (!res.ok) {
    throw discoveryFailure(`${url} answered HTTP ${res.status}; set FHIR_AUTH_TOKEN_URL`);
  }
  const body = (await res.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
  const endpoint = body?.token_endpoint;
  let parsed: URL | undefined;
  try {
    parsed = typeof endpoint === 'string' ? new URL(endpoint) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed) {
    throw discoveryFailure(`${url} names no token_endpoint; set FHIR_AUTH_TOKEN_URL`);
  }
  if (!isSafeForCredentials(parsed)) {
    throw discoveryFailure(`${url} names a token endpoint that is not https (${endpoint})`);
  }
  return endpoint as string;
}
