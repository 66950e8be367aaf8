/**
 * A real OAuth2 token endpoint on loopback for the auth tests: client_credentials with
 * client_secret_basic, client_secret_post, or private_key_jwt verified with jose against the JWKS our
 * service serves (fetched over HTTP at every request, as an EHR would). It records what it saw.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';

export type ClientRegistration = { secret: string } | { jwksUrl: string };

export interface TokenRequestSeen {
  at: number;
  method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientId: string;
  scope?: string;
  assertion?: string;
  claims?: JWTPayload;
  header?: JWTHeaderParameters;
  /** The token issued, or undefined when refused. */
  issued?: string;
  refused?: string;
}

interface Issued {
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

export interface TokenServer {
  url: string;
  tokenUrl: string;
  clients: Map<string, ClientRegistration>;
  requests: TokenRequestSeen[];
  /** Lifetime of the tokens issued from now on (seconds); undefined = omit expires_in. */
  expiresInS: number | undefined;
  /**
   * The scope granted for a requested one (echoed in the response; undefined = omit `scope`), or
   * 'invalid_scope' to refuse the request. Default: grant what was asked.
   */
  grant: (requested: string | undefined) => string | undefined | 'invalid_scope';
  /** True when the token was issued here, is not revoked and not expired. */
  isValid(token: string): boolean;
  revokeAll(): void;
  close(): Promise<void>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function startTokenServer(): Promise<TokenServer> {
  const issued = new Map<string, Issued>();
  const seenJti = new Set<string>();
  const app = express();
  app.use(express.urlencoded({ extended: false }));

  const ts: TokenServer = {
    url: '',
    tokenUrl: '',
    clients: new Map(),
    requests: [],
    expiresInS: 3600,
    grant: (requested) => requested,
    isValid(token) {
      const t = issued.get(token);
      return !!t && !t.revoked && Date.now() < t.expiresAt;
    },
    revokeAll() {
      for (const t of issued.values()) {
        t.revoked = true;
      }
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  app.post('/oauth2/token', async (req, res) => {
    const body = req.body as Record<string, string>;
    const seen: TokenRequestSeen = { at: Date.now(), method: 'client_secret_post', clientId: '', scope: body.scope };
    ts.requests.push(seen);
    const refuse = (status: number, error: string): void => {
      seen.refused = error;
      res.status(status).json({ error, error_description: 'refused by the test token server' });
    };
    if (body.grant_type !== 'client_credentials') {
      refuse(400, 'unsupported_grant_type');
      return;
    }
    const basic = /^Basic (.+)$/.exec(req.header('authorization') ?? '');
    if (basic) {
      // RFC 6749 2.3.1: both parts form-encoded, then joined by ":" and base64-encoded.
      const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
      Object.assign(seen, { method: 'client_secret_basic', clientId: id });
      const reg = ts.clients.get(id);
      if (!reg || !('secret' in reg) || reg.secret !== secret) {
        refuse(401, 'invalid_client');
        return;
      }
    } else if (body.client_secret !== undefined) {
      seen.clientId = body.client_id;
      const reg = ts.clients.get(body.client_id);
      if (!reg || !('secret' in reg) || reg.secret !== body.client_secret) {
        refuse(401, 'invalid_client');
        return;
      }
    } else if (body.client_assertion_type === JWT_BEARER && body.client_assertion) {
      seen.method = 'private_key_jwt';
      seen.assertion = body.client_assertion;
      const iss = String(decodeJwt(body.client_assertion).iss ?? '');
      seen.clientId = iss;
      const reg = ts.clients.get(iss);
      if (!reg || !('jwksUrl' in reg)) {
        refuse(401, 'invalid_client');
        return;
      }
      try {
        // A new remote set per request: every verification fetches the JWKS from the service.
        const { payload, protectedHeader } = await jwtVerify(body.client_assertion, createRemoteJWKSet(new URL(reg.jwksUrl)), {
          issuer: iss,
          subject: iss,
          audience: ts.tokenUrl,
          algorithms: ['RS384', 'ES384'],
          requiredClaims: ['exp', 'jti'],
        });
        seen.claims = payload;
        seen.header = protectedHeader;
        // SMART: exp at most five minutes ahead; a jti seen before is a replay.
        if ((payload.exp as number) > Math.floor(Date.now() / 1000) + 300 || seenJti.has(payload.jti as string)) {
          refuse(401, 'invalid_client');
          return;
        }
        seenJti.add(payload.jti as string);
      } catch {
        refuse(401, 'invalid_client');
        return;
      }
    } else {
      refuse(401, 'invalid_client');
      return;
    }
    const scope = ts.grant(body.scope);
    if (scope === 'invalid_scope') {
      refuse(400, 'invalid_scope');
      return;
    }
    const token = randomBytes(24).toString('base64url');
    const lifetime = ts.expiresInS;
    issued.set(token, { clientId: seen.clientId, expiresAt: Date.now() + (lifetime ?? 300) * 1000, revoked: false });
    seen.issued = token;
    res
      .set('cache-control', 'no-store')
      .json({ access_token: token, token_type: 'Bearer', ...(scope === undefined ? {} : { scope }), ...(lifetime === undefined ? {} : { expires_in: lifetime }) });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  ts.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ts.tokenUrl = `${ts.url}/oauth2/token`;
  return ts;
}
