/**
 * The embedded FHIR R4 server at /fhir (present when FHIR_BASE_URL is unset): medplum's REST semantics
 * over our SQLite store, served by one handler behind the few express routes below; described by
 * interaction. Bodies and answers are FHIR resources (https://hl7.org/fhir/R4/http.html). With
 * FHIR_BASE_URL the same routes serve the read-only copy of what was sent (src/local-copy): the writes
 * described here answer 405 there (the tag's description says so).
 */
import type { ExpressRoute } from '../express-routes.js';
import { type Method, type OperationSpec, pathParam, response, schemaRef } from '../operation.js';

const embedded = (routes: ExpressRoute[]): boolean => routes.some((r) => r.path.startsWith('/fhir/'));
const TYPE = pathParam('type', 'a FHIR resource type (Encounter, RelatedPerson ...)', { type: 'string', pattern: '^[A-Z][A-Za-z]{1,63}$' });
const ID = pathParam('id', 'the resource id', { type: 'string', pattern: '^[A-Za-z0-9.-]{1,64}$' });
const VID = pathParam('vid', 'the version id', { type: 'string', pattern: '^[A-Za-z0-9.-]{1,64}$' });
const RESOURCE = { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string' } } };
const READERS = ['fhir-reader'];
const WRITERS = ['admin'];

function interaction(method: Method, path: string, id: string, summary: string, roles: string[], withBody = false): OperationSpec {
  const params = [path.includes('{type}') ? TYPE : undefined, path.includes('{id}') ? ID : undefined, path.includes('{vid}') ? VID : undefined].filter(
    (p): p is object => !!p
  );
  return {
    method,
    path,
    presentWhen: embedded,
    operationId: id,
    tag: 'FHIR server',
    summary,
    roles,
    parameters: params,
    ...(withBody ? { requestBody: { required: true, content: { 'application/fhir+json': { schema: RESOURCE } } } } : {}),
    responses: { '200': response('A FHIR resource or Bundle', RESOURCE, undefined, 'application/fhir+json'), ...(withBody && method === 'post' ? { '201': { description: 'Created' } } : {}) },
    errors: [400, 404, 422],
  };
}

export const FHIR_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/fhir/metadata',
    operationId: 'fhirCapabilities',
    tag: 'FHIR server',
    summary: "The embedded server's CapabilityStatement (or the read-only copy's, with FHIR_BASE_URL)",
    roles: 'authenticated',
    responses: { '200': response('CapabilityStatement', RESOURCE, undefined, 'application/fhir+json') },
  },
  {
    method: 'post',
    path: '/fhir/$validate',
    operationId: 'fhirValidate',
    tag: 'FHIR server',
    summary: 'Validate a resource against our profiles (stores nothing)',
    roles: ['source', 'fhir-reader'],
    requestBody: { required: true, content: { 'application/fhir+json': { schema: RESOURCE } } },
    responses: { '200': response('An OperationOutcome', schemaRef('OperationOutcome'), undefined, 'application/fhir+json') },
    errors: [400],
  },
  {
    method: 'post',
    path: '/fhir/{type}/$validate',
    operationId: 'fhirValidateType',
    tag: 'FHIR server',
    summary: 'Validate a resource of a type against our profiles (stores nothing)',
    roles: ['source', 'fhir-reader'],
    parameters: [TYPE],
    requestBody: { required: true, content: { 'application/fhir+json': { schema: RESOURCE } } },
    responses: { '200': response('An OperationOutcome', schemaRef('OperationOutcome'), undefined, 'application/fhir+json') },
    errors: [400],
  },
  interaction('post', '/fhir', 'fhirBatch', 'Batch or transaction Bundle (each entry judged as the request it stands for)', READERS, true),
  interaction('get', '/fhir/_history', 'fhirSystemHistory', 'System history', READERS),
  interaction('get', '/fhir/{type}', 'fhirSearch', 'Search', READERS),
  interaction('post', '/fhir/{type}', 'fhirCreate', 'Create (conditional with If-None-Exist)', WRITERS, true),
  interaction('put', '/fhir/{type}', 'fhirConditionalUpdate', 'Conditional update', WRITERS, true),
  interaction('delete', '/fhir/{type}', 'fhirConditionalDelete', 'Conditional delete', WRITERS),
  interaction('get', '/fhir/{type}/_history', 'fhirTypeHistory', 'Type history', READERS),
  interaction('get', '/fhir/{type}/{id}', 'fhirRead', 'Read', READERS),
  interaction('put', '/fhir/{type}/{id}', 'fhirUpdate', 'Update (If-Match for optimistic locking)', WRITERS, true),
  interaction('patch', '/fhir/{type}/{id}', 'fhirPatch', 'JSON Patch', WRITERS, true),
  interaction('delete', '/fhir/{type}/{id}', 'fhirDelete', 'Delete', WRITERS),
  interaction('get', '/fhir/{type}/{id}/_history', 'fhirHistory', 'Instance history', READERS),
  interaction('get', '/fhir/{type}/{id}/_history/{vid}', 'fhirVread', 'Version read', READERS),
];
