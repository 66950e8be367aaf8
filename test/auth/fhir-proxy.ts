/**
 * A loopback gate in front of a real (embedded) FHIR server: it lets a request through only with a
 * bearer token the test token server issued and still honours, swaps it for the upstream's own API
 * token, and answers 401 otherwise. It also serves the SMART configuration (token endpoint discovery)
 * and counts what it saw.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

export interface FhirProxy {
  /** The FHIR base URL to give the service (…/fhir). */
  fhirBaseUrl: string;
  /** Every FHIR request: the bearer token it carried (or undefined) and the status answered. */
  seen: { token?: string; status: number }[];
  /** Answer 401 to every request, valid token or not (a server that keeps refusing). */
  refuseAll: boolean;
  close(): Promise<void>;
}

export interface FhirProxyOptions {
  upstreamFhirBaseUrl: string;
  upstreamToken: string;
  /** undefined: no token needed (FHIR_AUTH_TYPE=none). */
  isValid?: (token: string) => boolean;
  /** Served at /fhir/.well-known/smart-configuration. */
  tokenEndpoint?: string;
}

export async function startFhirProxy(o: FhirProxyOptions): Promise<FhirProxy> {
  const app = express();
  const proxy: FhirProxy = { fhirBaseUrl: '', seen: [], refuseAll: false, close: async () => {} };

  app.get('/fhir/.well-known/smart-configuration', (_req, res) => {
    res.json({
      token_endpoint: o.tokenEndpoint,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    });
  });

  app.use('/fhir', express.raw({ type: () => true, limit: '50mb' }), async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.header('authorization') ?? '')?.[1];
    const allowed = !proxy.refuseAll && (o.isValid === undefined || (token !== undefined && o.isValid(token)));
    if (!allowed) {
      proxy.seen.push({ token, status: 401 });
      res
        .status(401)
        .set('www-authenticate', 'Bearer error="invalid_token"')
        .type('application/fhir+json')
        .json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', details: { text: 'invalid token' } }] });
      return;
    }
    const headers: Record<string, string> = { authorization: `Bearer ${o.upstreamToken}` };
    for (const h of ['accept', 'content-type', 'if-none-exist', 'if-match', 'prefer']) {
      const v = req.header(h);
      if (v) {
        headers[h] = v;
      }
    }
    const hasBody = Buffer.isBuffer(req.body) && req.body.length > 0;
    const upstream = await fetch(`${o.upstreamFhirBaseUrl}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? req.body : undefined,
    });
    proxy.seen.push({ token, status: upstream.status });
    res.status(upstream.status);
    for (const h of ['content-type', 'location', 'etag', 'last-modified']) {
      const v = upstream.headers.get(h);
      if (v) {
        res.set(h, v);
      }
    }
    res.send(Buffer.from(await upstream.arrayBuffer()));
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  proxy.fhirBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  proxy.close = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  return proxy;
}
