/**
 * GET /api/v1/openapi.json: the OpenAPI 3.1 description of this service's HTTP API (src/openapi/),
 * built from the same JSON Schemas that validate requests, listing only the routes this instance has.
 * Any valid credential.
 */
import express, { type Router } from 'express';
import { buildOpenApiDocument } from '../../openapi/document.js';
import { expressRoutes } from '../../openapi/express-routes.js';

export function openapiRouter(): Router {
  const router = express.Router();
  let cached: string | undefined;
  router.get('/openapi.json', (req, res) => {
    // Built on first use: by then every router of the app is mounted.
    cached ??= JSON.stringify(buildOpenApiDocument(expressRoutes(req.app as express.Express)));
    res.type('application/json').send(cached);
  });
  return router;
}
