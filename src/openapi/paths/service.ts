/** Service endpoints: the console, liveness, readiness, metrics, our public keys. */
import * as ex from '../examples.js';
import { type OperationSpec, response, schemaRef } from '../operation.js';

export const SERVICE_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/',
    operationId: 'root',
    tag: 'Service',
    summary: 'Redirects to the console',
    roles: 'public',
    responses: { '302': { description: 'Location: /console/' } },
  },
  {
    method: 'get',
    path: '/console/',
    presentWhen: () => true,
    operationId: 'console',
    tag: 'Service',
    summary: 'The web console (sign in with an API token)',
    roles: 'public',
    responses: { '200': { description: 'The console page (its API calls carry the credential)', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    tag: 'Service',
    summary: 'Liveness',
    roles: 'public',
    responses: { '200': response('Alive', schemaRef('Health'), { ok: { status: 'ok' } }) },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    tag: 'Service',
    summary: 'Readiness: store reachable, migrations applied, intake open; the target\'s CapabilityStatement read or why not',
    description: 'A target that cannot be read is reported but does not make the instance unready: records wait in the outbox.',
    roles: 'public',
    responses: {
      '200': response('Ready', schemaRef('Readiness'), { ready: ex.readiness }),
      '503': response('Not ready, or stopping', schemaRef('Readiness')),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Service',
    summary: 'Prometheus metrics (text exposition format); no identifier or PHI in any label',
    roles: ['operator'],
    responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    tag: 'Service',
    summary: 'Our public signing keys (SMART Backend Services)',
    onlyWhen: 'FHIR_AUTH_TYPE=smart-backend',
    roles: 'public',
    responses: { '200': response('A JWK Set', schemaRef('Jwks')) },
  },
];
