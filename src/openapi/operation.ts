/**
 * How one operation of the API is described (OperationSpec), and small builders for parameters and
 * bodies. document.ts turns the specs into the OpenAPI document; each paths/*.ts file describes one
 * area of the API. How to add a route: src/openapi/README.md.
 */
import type { ExpressRoute } from './express-routes.js';

export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

export interface OperationSpec {
  method: Method;
  /** The OpenAPI path (`/api/v1/participants/{id}`). */
  path: string;
  /** The express route serving it, in OpenAPI form, when it differs from `path` (`/api/v1/{collection}/{id}`). */
  route?: string;
  /** For operations served by middleware rather than a route (the console's files, the FHIR server): when the app has them. */
  presentWhen?: (routes: ExpressRoute[]) => boolean;
  /** The route exists only in some setups or once another issue lands: when (shown in the description). */
  onlyWhen?: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Who may call it: `public` (no token), `authenticated` (any credential) or these roles (admin always may). */
  roles: readonly string[] | 'public' | 'authenticated';
  /** The answer is masked (PHI replaced) for roles without identified access, such as operator. */
  masksPhi?: boolean;
  parameters?: object[];
  requestBody?: object;
  /** Success responses. */
  responses: Record<string, object>;
  /** Error statuses besides 401/403 (added for every non-public operation). */
  errors?: number[];
}

export const schemaRef = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

/** A JSON (or other media type) body or response with a schema and named examples. */
export function content(schema: object, examples?: Record<string, unknown>, mediaType = 'application/json'): { content: Record<string, object> } {
  return {
    content: {
      [mediaType]: {
        schema,
        ...(examples ? { examples: Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }])) } : {}),
      },
    },
  };
}

export function response(description: string, schema: object, examples?: Record<string, unknown>, mediaType?: string): object {
  return { description, ...content(schema, examples, mediaType) };
}

export function pathParam(name: string, description: string, schema: object = { type: 'string' }): object {
  return { name, in: 'path', required: true, description, schema };
}

export function queryParam(name: string, description: string, schema: object = { type: 'string' }, required = false): object {
  return { name, in: 'query', required, description, schema };
}

export function headerParam(name: string, description: string, schema: object = { type: 'string' }, required = false): object {
  return { name, in: 'header', required, description, schema };
}

export const ID_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' };
export const KIND_PARAM = pathParam('kind', 'participant, consent, session or note', schemaRef('RecordKind'));
export const TARGET_QUERY = queryParam('target', 'a target name (default: every target)');
export const CLIENT_HEADER = headerParam('X-Client-MRN', "the client's MRN: PHI, so a header, never a URL", { type: 'string', pattern: '^[A-Za-z0-9._:/-]{1,64}$' });
