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
}

/** A fixed token (FHIR_AUTH_TYPE=bearer, or our own API token for the embedded server) or none. */
export function staticTokenSource(token: () => string | undefined): AccessTokenSource {
  return {
    token: async () => token(),
    // A static token cannot be renewed: a 401 is final.
    renew: async () => undefined,
  };
}
