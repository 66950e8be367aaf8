/**
 * A small client for our own /api/v1 (not a FHIR API; FHIR calls go through fhir-kit-client). When the
 * service cannot be reached, or refuses the token, the error says what was tried: the URL and where it
 * came from, where the token came from (never the token), and the underlying error.
 */

/** Where the URL and the token of a client came from (see cli-config.ts resolveServiceConnection). */
export interface ApiOrigin {
  urlSource: string;
  tokenSource: string;
}

export interface ApiClient {
  baseUrl: string;
  origin?: ApiOrigin;
  /** Throws ServiceUnreachableError when no HTTP answer comes. */
  call(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; body: any }>;
}

/** No HTTP answer from the service (refused, reset, timed out, unknown host). */
export class ServiceUnreachableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ServiceUnreachableError';
  }
}

/** "http://127.0.0.1:8080 (URL from PORT=8080; token from /srv/data/api-token)". */
export function describeConnection(api: Pick<ApiClient, 'baseUrl' | 'origin'>): string {
  return api.origin ? `${api.baseUrl} (URL from ${api.origin.urlSource}; token from ${api.origin.tokenSource})` : api.baseUrl;
}

/** The low-level reason fetch gives: `connect ECONNREFUSED 127.0.0.1:8080`, `getaddrinfo ENOTFOUND x`. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { message?: string; code?: string } })?.cause;
  if (cause?.message) {
    return cause.message;
  }
  if ((err as { name?: string })?.name === 'TimeoutError') {
    return 'no answer in time';
  }
  return cause?.code ?? (err instanceof Error ? err.message : String(err));
}

/**
 * A client of the service's API.
 * @param origin - where the URL and the token came from, for error messages.
 */
export function createApiClient(baseUrl: string, token: string, origin?: ApiOrigin, timeoutMs = 60_000): ApiClient {
  const client: ApiClient = {
    baseUrl,
    origin,
    async call(method, path, body, contentType = 'application/json') {
      const send = (): Promise<Response> =>
        fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      let res: Response;
      try {
        res = await send().catch(async (err: unknown) => {
          // A kept-alive connection the server closed just as we reused it fails with a reset before anything
          // was read: a GET is safe to send once more. Anything else (a write, a refusal) is reported as is.
          const code = (err as { cause?: { code?: string } })?.cause?.code ?? '';
          if (method !== 'GET' || !['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(code)) {
            throw err;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
          return send();
        });
      } catch (err) {
        throw new ServiceUnreachableError(`Cannot reach the collateral-fhir service at ${describeConnection(client)}: ${networkReason(err)}`, err);
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
  };
  return client;
}

/** The texts of an OperationOutcome's issues, or a short excerpt of another body. */
export function describeOutcome(body: any): string {
  const issues: any[] = body?.issue ?? [];
  const text = issues.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ');
  return text || (typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : 'no details');
}

/** What to say about an answer that is not the expected one; a 401 names the token's source. */
export function explainAnswer(api: ApiClient, r: { status: number; body: any }): string {
  if (r.status === 401) {
    return (
      `The service at ${api.baseUrl} refused the token from ${api.origin?.tokenSource ?? 'the command line'} ` +
      `(HTTP 401: ${describeOutcome(r.body)}). Use a token the service accepts: its API_TOKENS, or its DATA_DIR/api-token ` +
      '(--token, --data-dir, or the same environment as the service).'
    );
  }
  return `The service at ${api.baseUrl} answered HTTP ${r.status}: ${describeOutcome(r.body)}`;
}

/**
 * Checks that a collateral-fhir service answers at the client's URL and accepts its token.
 * @returns undefined when it does, else a message that says what was tried and what happened.
 */
export async function checkService(api: ApiClient): Promise<string | undefined> {
  let health: { status: number; body: any };
  try {
    health = await api.call('GET', '/healthz');
  } catch (err) {
    return `${(err as Error).message}\nIs it running? Start it with npm start, or point this command at it: --url URL, or the PORT and HOST it was started with.`;
  }
  if (health.status !== 200 || health.body?.status !== 'ok') {
    return `Something answers at ${describeConnection(api)}, but not a collateral-fhir service: GET /healthz gave HTTP ${health.status}.`;
  }
  const status = await api.call('GET', '/api/v1/sync/status');
  return status.status === 200 ? undefined : explainAnswer(api, status);
}
