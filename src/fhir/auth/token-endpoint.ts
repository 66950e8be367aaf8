/**
 * One OAuth2 token request (RFC 6749 section 4.4, client credentials) and its answer. Failures become
 * upstreamFailed outcomes that name the token endpoint and its status, never the body we sent.
 */
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';

export interface TokenRequest {
  url: string;
  /** grant_type, scope and the client authentication (secret or assertion). */
  form: Record<string, string>;
  headers?: Record<string, string>;
  timeoutMs: number;
}

export interface IssuedToken {
  accessToken: string;
  /** Seconds, as the server said; undefined when it did not say. */
  expiresInS?: number;
  /** The scopes granted (may be fewer than asked). */
  scope?: string;
}

/**
 * Without a token the FHIR request is never sent, so to the sync this is "no answer from the FHIR
 * server" (status 0: transient, retried with backoff) rather than the token endpoint's own 400/401,
 * which a delivery policy could take for a verdict on the record. The real status is in the text.
 */
function tokenFailure(text: string, cause?: unknown, oauthError?: string): TokenRequestError {
  return new TokenRequestError(text, cause, oauthError);
}

/** A token request that failed; `oauthError` is the endpoint's RFC 6749 error code when it sent one. */
export class TokenRequestError extends OperationOutcomeError {
  constructor(
    text: string,
    cause?: unknown,
    readonly oauthError?: string
  ) {
    super(upstreamFailed(0, undefined, `Could not get an access token: ${text}`), cause);
    this.name = 'TokenRequestError';
  }
}

/**
 * Posts a token request.
 * @returns the access token and its lifetime.
 * @throws OperationOutcomeError (upstream-failed) naming the endpoint and its status or error code.
 */
export async function requestToken(req: TokenRequest): Promise<IssuedToken> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...req.headers },
      body: new URLSearchParams(req.form).toString(),
      signal: AbortSignal.timeout(req.timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    const why = e?.name === 'TimeoutError' ? 'timed out' : (e?.cause?.code ?? 'connection failed');
    throw tokenFailure(`no answer from the token endpoint ${req.url} (${why})`, err);
  }
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok) {
    // RFC 6749 section 5.2: `error` is a short code (invalid_client, invalid_scope...), safe to show.
    const error = typeof body?.error === 'string' ? body.error.slice(0, 64) : undefined;
    throw tokenFailure(`the token endpoint ${req.url} answered HTTP ${res.status}${error ? ` (${error})` : ''}`, undefined, error);
  }
  const accessToken = body?.access_token;
  const tokenType = body?.token_type;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw tokenFailure(`the token endpoint ${req.url} answered HTTP ${res.status} without an access_token`);
  }
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw tokenFailure(`the token endpoint ${req.url} issued a token of type "${String(tokenType).slice(0, 32)}", not Bearer`);
  }
  const expiresIn = Number(body?.expires_in);
  return {
    accessToken,
    expiresInS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    scope: typeof body?.scope === 'string' ? body.scope : undefined,
  };
}
