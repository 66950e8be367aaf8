/**
 * GET /.well-known/jwks.json: the public half of our SMART Backend Services signing key, for the EHR's
 * token endpoint to verify our client assertions (register this URL with the EHR). Public by design:
 * it holds no secret and the EHR fetches it without credentials.
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys
 */
import express, { type Router } from 'express';
import type { Jwks } from '../../fhir/auth/index.js';

export function jwksRouter(jwks: Jwks): Router {
  const router = express.Router();
  const body = JSON.stringify(jwks);
  router.get('/.well-known/jwks.json', (_req, res) => {
    // Servers cache the set; five minutes keeps a key rotation quick to take effect.
    res.set('cache-control', 'public, max-age=300').type('application/json').send(body);
  });
  return router;
}
