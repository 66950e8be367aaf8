/**
 * Builds the OpenAPI 3.1 document from the operation specs (paths/*.ts), the inbound JSON Schemas
 * (inbound-schemas.ts: the files that validate requests) and the API's own schemas (components.ts).
 * Only operations the app really serves are listed (expressRoutes); test/openapi fails for a route
 * without a description and for an example that does not validate against its schema.
 */
import { ANALYTICS_OPERATIONS } from './paths/analytics.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.js';
import { API_SCHEMAS, errorResponses } from './components.js';
import type { ExpressRoute } from './express-routes.js';
import { inboundComponents } from './inbound-schemas.js';
import type { OperationSpec } from './operation.js';
import { CONSOLE_OPERATIONS } from './paths/console.js';
import { FHIR_OPERATIONS } from './paths/fhir.js';
import { IMPORT_JOB_OPERATIONS } from './paths/import-jobs.js';
import { PLANNED_OPERATIONS } from './paths/planned.js';
import { RECORD_OPERATIONS } from './paths/records.js';
import { SERVICE_OPERATIONS } from './paths/service.js';
import { SYNC_OPERATIONS } from './paths/sync.js';

/** Every operation described, whether or not a given app serves it. */
export const ALL_OPERATIONS: readonly OperationSpec[] = [
  ...SERVICE_OPERATIONS,
  ...RECORD_OPERATIONS,
  ...IMPORT_JOB_OPERATIONS,
  ...CONSOLE_OPERATIONS,
  ...SYNC_OPERATIONS,
  ...FHIR_OPERATIONS,
  ...ANALYTICS_OPERATIONS,
  ...PLANNED_OPERATIONS,
];

const TAGS = [
  { name: 'Records', description: 'Source records in (PUT, import) and their state out.' },
  { name: 'Mapping', description: 'Dry runs of the mappings: nothing stored, nothing sent.' },
  { name: 'Sync', description: 'Operating the delivery to the FHIR target.' },
  { name: 'Privacy', description: 'Accounting of disclosures and the access audit.' },
  { name: 'Console', description: 'What the web console needs.' },
  { name: 'Analytics', description: 'SQL-on-FHIR views and Bulk Data exports, de-identified by default.' },
  { name: 'Service', description: 'Console page, liveness, readiness, metrics, public keys.' },
  {
    name: 'FHIR server',
    description:
      'The embedded FHIR R4 server (when FHIR_BASE_URL is unset). With FHIR_BASE_URL: a read-only copy of what was sent to that target ' +
      '(metadata, read, search-type, the analytics operations; every write, history and system search answer 405 with an OperationOutcome ' +
      'saying why). With DATABASE_URL: no copy is kept and /fhir answers 501 (docs/analytics.md, "External targets").',
  },
];

/** True when the app serves the operation. */
export function isServed(op: OperationSpec, routes: readonly ExpressRoute[]): boolean {
  if (op.presentWhen) {
    return op.presentWhen([...routes]);
  }
  const route = op.route ?? op.path;
  return routes.some((r) => r.method === op.method && r.path === route);
}

/** The roles text of an operation, for people. */
export function rolesText(op: OperationSpec): string {
  if (op.roles === 'public') return 'public (no token)';
  if (op.roles === 'authenticated') return 'any valid credential';
  return [...new Set([...op.roles, 'admin'])].join(', ');
}

function operationObject(op: OperationSpec): object {
  const isPublic = op.roles === 'public';
  const roles = `**Roles:** ${rolesText(op)}.${op.masksPhi ? ' Names, contact details, note text and MRNs are masked for roles without identified access (operator).' : ''}`;
  const errors = [...(isPublic ? [] : [401, 403]), ...(op.errors ?? [])].sort();
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, op.onlyWhen ? `Present only when ${op.onlyWhen}.` : undefined, roles].filter(Boolean).join('\n\n'),
    'x-roles': op.roles === 'public' || op.roles === 'authenticated' ? op.roles : [...new Set([...op.roles, 'admin'])],
    ...(op.masksPhi ? { 'x-masks-phi': true } : {}),
    security: isPublic ? [] : [{ bearer: [] }],
    ...(op.parameters && op.parameters.length > 0 ? { parameters: op.parameters } : {}),
    ...(op.requestBody ? { requestBody: op.requestBody } : {}),
    responses: {
      ...op.responses,
      ...Object.fromEntries(errors.map((code) => [String(code), { $ref: `#/components/responses/E${code}` }])),
    },
  };
}

/**
 * The OpenAPI document.
 * @param routes - what the app serves; undefined = every operation described.
 */
export function buildOpenApiDocument(routes?: readonly ExpressRoute[]): Record<string, unknown> {
  const version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const paths: Record<string, Record<string, object>> = {};
  for (const op of ALL_OPERATIONS.filter((o) => !routes || isServed(o, routes))) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'collateral-fhir',
      version,
      summary: 'Carries behavioral-health collateral records into EHRs over FHIR R4.',
      description:
        'Every request needs `Authorization: Bearer <token>` unless marked public. Errors are FHIR OperationOutcomes. ' +
        'A client MRN is PHI: where the API lets you choose, send it in a header or a body, never in a URL.',
    },
    tags: TAGS,
    paths,
    components: {
      schemas: { ...inboundComponents(), ...API_SCHEMAS },
      responses: errorResponses(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (API_TOKENS, or DATA_DIR/api-token on first start).' },
      },
    },
  };
}
