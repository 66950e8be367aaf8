/**
 * Analytics on the embedded FHIR server's data (docs/analytics.md, docs/exports.md): SQL-on-FHIR v2
 * `$viewdefinition-run` and `$viewdefinition-export`, and FHIR Bulk Data `$export` with its job routes.
 * De-identified by default; identified output (`deidentify=false`) needs privacy-officer or admin and is
 * recorded in the access audit. Bodies are FHIR Parameters; answers rows or Bulk Data manifests.
 */
import { type Method, type OperationSpec, pathParam, response } from '../operation.js';

/** Served where the service holds the data: on the embedded defaults (FHIR_BASE_URL unset). */
const EMBEDDED_ONLY = 'the embedded FHIR server holds the data (FHIR_BASE_URL unset)';
const ROLES = ['analyst', 'privacy-officer'];
const PARAMETERS = { type: 'object', required: ['resourceType'], properties: { resourceType: { const: 'Parameters' } } };
const FHIR_JSON = 'application/fhir+json';
const JOB_ID = pathParam('id', 'the export job id', { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' });
const KICK_OFF_DESCRIPTION =
  'Asynchronous (Bulk Data IG v2): send `Prefer: respond-async`; the answer is 202 with `Content-Location` of the job to poll. ' +
  'De-identified unless `deidentify=false` (privacy-officer or admin; recorded in the access audit).';

function kickOff(method: Method, path: string, operationId: string, summary: string, route?: string): OperationSpec {
  const pathParams = path.includes('{groupId}') ? [pathParam('groupId', 'the Group id', { type: 'string', pattern: '^[A-Za-z0-9.-]{1,64}$' })] : [];
  return {
    method,
    path,
    ...(route ? { route } : {}),
    onlyWhen: EMBEDDED_ONLY,
    operationId,
    tag: 'Analytics',
    summary,
    description: KICK_OFF_DESCRIPTION,
    roles: ROLES,
    parameters: pathParams,
    ...(method === 'post' ? { requestBody: { required: false, content: { [FHIR_JSON]: { schema: PARAMETERS } } } } : {}),
    responses: { '202': { description: 'Accepted: poll the job at Content-Location' } },
    errors: [400, 404, 422],
  };
}

export const ANALYTICS_OPERATIONS: OperationSpec[] = [
  {
    method: 'post',
    path: '/fhir/$viewdefinition-run',
    operationId: 'viewDefinitionRun',
    tag: 'Analytics',
    summary: 'Run a ViewDefinition (inline or ViewDefinition/<name> from views/) and stream its rows',
    description: 'SQL-on-FHIR v2 ViewDefinitionRun: `_format` json, ndjson, csv or parquet; de-identified unless `deidentify=false`.',
    roles: ROLES,
    requestBody: { required: true, content: { [FHIR_JSON]: { schema: PARAMETERS } } },
    responses: { '200': response('The rows, in the requested format', { type: 'array', items: { type: 'object' } }) },
    errors: [400, 404, 422],
  },
  kickOff('post', '/fhir/$viewdefinition-export', 'viewDefinitionExport', 'Export the rows of one or more views as files (asynchronous)'),
  kickOff('post', '/fhir/ViewDefinition/$viewdefinition-export', 'viewDefinitionExportOnType', 'Export the rows of one or more views as files (type level, asynchronous)'),
  kickOff('get', '/fhir/$export', 'systemExport', 'Bulk Data export of the whole store'),
  kickOff('post', '/fhir/$export', 'systemExportPost', 'Bulk Data export of the whole store (parameters in the body)'),
  kickOff('get', '/fhir/Patient/$export', 'patientExport', "Bulk Data export of every client's compartment"),
  kickOff('post', '/fhir/Patient/$export', 'patientExportPost', "Bulk Data export of every client's compartment (parameters in the body)"),
  kickOff('get', '/fhir/Group/{groupId}/$export', 'groupExport', 'Bulk Data export of the compartments of a Group of clients'),
  kickOff('post', '/fhir/Group/{groupId}/$export', 'groupExportPost', 'Bulk Data export of the compartments of a Group of clients (parameters in the body)'),
  {
    method: 'get',
    path: '/fhir/_export/{id}',
    onlyWhen: EMBEDDED_ONLY,
    operationId: 'exportStatus',
    tag: 'Analytics',
    summary: "An export job's status: 202 with X-Progress and Retry-After while it runs, then its manifest (or a 303 to it)",
    roles: ROLES,
    parameters: [JOB_ID],
    responses: { '200': response('The manifest (output files per type or view)', { type: 'object' }), '202': { description: 'Still running' } },
    errors: [404],
  },
  {
    method: 'delete',
    path: '/fhir/_export/{id}',
    onlyWhen: EMBEDDED_ONLY,
    operationId: 'exportCancel',
    tag: 'Analytics',
    summary: 'Cancel an export job and delete its files',
    roles: ROLES,
    parameters: [JOB_ID],
    responses: { '202': { description: 'Cancelled' } },
    errors: [404],
  },
  {
    method: 'get',
    path: '/fhir/_export/{id}/result',
    onlyWhen: EMBEDDED_ONLY,
    operationId: 'exportResult',
    tag: 'Analytics',
    summary: "A $viewdefinition-export job's result Parameters (one output per view with its locations)",
    roles: ROLES,
    parameters: [JOB_ID],
    responses: { '200': response('Parameters', PARAMETERS, undefined, FHIR_JSON) },
    errors: [404],
  },
  {
    method: 'get',
    path: '/fhir/_export/{id}/files/{file}',
    onlyWhen: EMBEDDED_ONLY,
    operationId: 'exportFile',
    tag: 'Analytics',
    summary: 'One output file of an export job (NDJSON, CSV or Parquet)',
    roles: ROLES,
    parameters: [JOB_ID, pathParam('file', 'the file name from the manifest', { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' })],
    responses: { '200': { description: 'The file' } },
    errors: [404],
  },
];
