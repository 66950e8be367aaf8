/**
 * OAuth2 for the standalone `medplum-like` server, as Medplum 4.5 answers it (packages/server/src/oauth/
 * token.ts, fhir/smart.ts), for the clients the test or the operator configured:
 * - `POST /oauth2/token`: client_credentials with client_secret_basic (the Basic header split at ":",
 *   not form-decoded, as medplum does) or client_secret_post. The scope is `scope` as asked, or `openid`;
 *   the response echoes it whole, whatever part of it will actually apply (see medplum-scopes.ts).
 *   Errors are medplum's: HTTP 400 `invalid_request` ("Invalid client", "Invalid secret", ...).
 * - `GET [/fhir]/.well-known/smart-configuration`: names the token endpoint.
 * - the bearer check in front of the FHIR API: a token issued here, not expired or revoked, else 401
 *   (`/metadata` and the discovery document are public, as on medplum; `/_admin` is not the API).
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { unauthorized, unauthorizedTokenExpired } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { MedplumLikeRuntime, TokenRequestRecord } from './medplum-like.js';
import { GRANT_LOCAL } from './medplum-transactions.js';

/** The token endpoint's path on the standalone server (medplum's). */
export const TOKEN_PATH = '/oauth2/token';

/**
 * The token endpoint and the SMART discovery documents.
 * @param runtime - The server's medplum-like state (clients, tokens).
 * @param fhirPath - Where the FHIR API is mounted (`/fhir`): discovery is served under it too.
 * @returns A router to mount at the server's root.
 */
export function medplumOAuthRouter(runtime: MedplumLikeRuntime, fhirPath: string): express.Router {
  const router = express.Router();
  router.post(TOKEN_PATH, express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    tokenEndpoint(runtime, req, res);
  });
  const discovery = (_req: Request, res: Response): void => {
    res.json({
      token_endpoint: runtime.tokenUrl,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: ['system/*.rs', 'system/*.cruds'],
      capabilities: ['client-confidential-symmetric', 'permission-v1', 'permission-v2'],
    });
  };
  router.get('/.well-known/smart-configuration', discovery);
  router.get(`${fhirPath}/.well-known/smart-configuration`, discovery);
  return router;
}

function tokenEndpoint(runtime: MedplumLikeRuntime, req: Request, res: Response): void {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const record: TokenRequestRecord = { method: 'none' };
  runtime.recordTokenRequest(record);
  const refuse = (description: string, status = 400): void => {
    record.refused = description;
    res.status(status).json({ error: 'invalid_request', error_description: description });
  };
  if (!req.is('application/x-www-form-urlencoded')) {
    record.refused = 'Unsupported content type';
    res.status(400).type('text/plain').send('Unsupported content type');
    return;
  }
  if (!body.grant_type) {
    refuse('Missing grant_type');
    return;
  }
  if (body.grant_type !== 'client_credentials') {
    refuse('Unsupported grant_type');
    return;
  }
  const credentials = clientCredentials(req, body, record);
  if (typeof credentials === 'string') {
    refuse(credentials);
    return;
  }
  const expected = runtime.clients.get(credentials.id);
  if (expected === undefined) {
    refuse('Invalid client');
    return;
  }
  if (expected !== credentials.secret) {
    refuse('Invalid secret');
    return;
  }
  const scope = typeof body.scope === 'string' && body.scope ? body.scope : 'openid';
  record.scope = scope;
  const token = randomBytes(32).toString('base64url');
  runtime.issueToken(credentials.id, scope, token);
  res.set('cache-control', 'no-store').json({
    token_type: 'Bearer',
    expires_in: runtime.tokenLifetimeSeconds,
    scope,
    access_token: token,
  });
}

/** The client's id and secret, from the Basic header or the form; a string is the error to answer. */
function clientCredentials(
  req: Request,
  body: Record<string, unknown>,
  record: TokenRequestRecord
): { id: string; secret: string } | string {
  if (body.client_assertion_type) {
    return 'Unsupported client assertion type';
  }
  const header = req.header('authorization');
  let id: unknown;
  let secret: unknown;
  if (header) {
    if (!header.startsWith('Basic ')) {
      return 'Invalid authorization header';
    }
    record.method = 'client_secret_basic';
    [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  } else {
    record.method = 'client_secret_post';
    id = body.client_id;
    secret = body.client_secret;
  }
  if (typeof id !== 'string' || !id) {
    return 'Missing client_id';
  }
  record.clientId = id;
  if (typeof secret !== 'string' || !secret) {
    return 'Missing client_secret';
  }
  return { id, secret };
}

/**
 * The bearer check of the FHIR API: puts the token's grant in `res.locals` for the request handler.
 * @param runtime - The server's medplum-like state.
 * @returns Middleware to mount at the FHIR path, before the FHIR router.
 */
export function medplumBearer(runtime: MedplumLikeRuntime): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (/^\/(metadata|\.well-known\/|_admin(\/|$))/.test(req.path)) {
      next();
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    const grant = m ? runtime.tokens.get(m[1]) : undefined;
    if (!grant || Date.now() >= grant.expiresAt) {
      sendUnauthorized(res, grant ? unauthorizedTokenExpired : unauthorized);
      return;
    }
    res.locals[GRANT_LOCAL] = grant;
    next();
  };
}

function sendUnauthorized(res: Response, outcome: OperationOutcome): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="medplum-like"');
  res.status(401).type('application/fhir+json').send(JSON.stringify(outcome));
}
