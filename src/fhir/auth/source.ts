/**
 * Where the FHIR client gets the bearer token of each request (kit-client.ts asks per request, since
 * tokens expire and rotate), and how it asks for a new one after a 401.
 */

export interface AccessTokenSource {
  /** The token to send now (cached, renewed before it expires), or undefined to send none. */
  token(): Promise<string | undefined>;
  /**
   * The FHIR server refused `rejected` with 401. Returns a token worth one retry: a fresh one, or one
   * another request already renewed; undefined when there is nothing new to try (static tokens).
   */
  renew(rejected: string | undefined): Promise<string | undefined>;
  /** What is known of the current token, for status pages (never the token itself). */
  describe?(): TokenState;
}

/** The state of an OAuth2 token source, safe to show and log. */
export interface TokenState {
  /** When the current token was obtained and when it expires (ISO), if one is held. */
  obtainedAt?: string;
  expiresAt?: string;
  /** The scope asked for, and the scope the server said it granted (when it said). */
  requestedScope: string;
  grantedScope?: string;
  /** What the sync needs that the granted (or, when not echoed, requested) scope lacks. */
  missingPermissions: string[];
  /** The last token request's failure, if the last one failed. */
  lastError?: string;
}

/** A fixed token (FHIR_AUTH_TYPE=bearer, or our own API token for the embedded server) or none. */
export function staticTokenSource(token: () => string | undefined): AccessTokenSource {
  return {
    token: async () => token(),
    // A static token cannot be renewed: a 401 is final.
    renew: async () => undefined,
  };
}
