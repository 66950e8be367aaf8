/**
 * Routes of other issues, described from their documented interfaces (import jobs: issue #8; the
 * access audit: issue #10). The description lists them only once the app has them (document.ts), and
 * the OpenAPI test then checks them like any other: adjust these when those routes land.
 */
import { type OperationSpec, pathParam, queryParam, response } from '../operation.js';

const JOB = pathParam('jobId', 'the job id the 202 answer gave');
const JOB_SCHEMA = {
  type: 'object',
  required: ['state', 'linesRead', 'accepted', 'unchanged', 'rejected', 'startedAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    state: { enum: ['running', 'completed', 'failed', 'cancelled'] },
    linesRead: { type: 'integer', minimum: 0 },
    accepted: { type: 'integer', minimum: 0 },
    unchanged: { type: 'integer', minimum: 0 },
    rejected: { type: 'integer', minimum: 0 },
    message: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
  },
};

export const PLANNED_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/v1/import/{jobId}',
    operationId: 'importJob',
    onlyWhen: 'import jobs exist (issue #8)',
    tag: 'Records',
    summary: 'An import job\'s progress (POST /import with Prefer: respond-async answers 202 with its id)',
    roles: ['source', 'operator'],
    parameters: [JOB],
    responses: { '200': response('The job', JOB_SCHEMA) },
    errors: [404],
  },
  {
    method: 'delete',
    path: '/api/v1/import/{jobId}',
    operationId: 'cancelImportJob',
    onlyWhen: 'import jobs exist (issue #8)',
    tag: 'Records',
    summary: 'Cancel a running import job (committed lines stay)',
    roles: ['source', 'operator'],
    parameters: [JOB],
    responses: { '200': response('The job as it ended', JOB_SCHEMA) },
    errors: [404],
  },
  {
    method: 'get',
    path: '/api/v1/import/{jobId}/results',
    operationId: 'importJobResults',
    onlyWhen: 'import jobs exist (issue #8)',
    tag: 'Records',
    summary: "An import job's per-line results (NDJSON)",
    roles: ['source', 'operator'],
    parameters: [JOB],
    responses: { '200': { description: 'One ImportLineResult per line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } } },
    errors: [404],
  },
  {
    method: 'get',
    path: '/api/v1/audit/access',
    operationId: 'accessAudit',
    onlyWhen: 'the access audit exists (issue #10)',
    tag: 'Privacy',
    summary: 'The access audit: who read or changed which PHI, when, with what outcome (paged)',
    roles: ['privacy-officer'],
    parameters: [
      queryParam('since', 'from (ISO date-time)'),
      queryParam('until', 'to (ISO date-time)'),
      queryParam('user', 'credential name'),
      queryParam('client', 'client MRN'),
    ],
    responses: { '200': response('AuditEvents', { type: 'object' }) },
    errors: [400],
  },
];
