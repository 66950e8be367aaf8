/**
 * A small client for our own /api/v1 (not a FHIR API; FHIR calls go through fhir-kit-client).
 */
export interface ApiClient {
  baseUrl: string;
  call(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; body: any }>;
}

export function createApiClient(baseUrl: string, token: string): ApiClient {
  return {
    baseUrl,
    async call(method, path, body, contentType = 'application/json') {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
        body,
      });
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
}
