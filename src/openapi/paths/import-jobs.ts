/**
 * The import job routes (issue #8: POST /api/v1/import with `Prefer: respond-async` starts a job) and
 * the console's list of the latest jobs.
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
    results: { type: 'string', description: 'the path of its per-line results' },
    startedAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
  },
};

const JOB_EXAMPLE = {
  id: '9b2f3c1e-4d5a-4b6c-8d7e-0f1a2b3c4d5e',
  state: 'running',
  linesRead: 4200,
  accepted: 4150,
  unchanged: 40,
  rejected: 10,
  startedAt: '2026-03-02T09:00:00.000Z',
  updatedAt: '2026-03-02T09:00:04.000Z',
  results: '/api/v1/import/9b2f3c1e-4d5a-4b6c-8d7e-0f1a2b3c4d5e/results',
};

export const IMPORT_JOB_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/v1/import',
    operationId: 'listImportJobs',
    tag: 'Records',
    summary: 'The latest import jobs, newest first, with their state and committed counts',
    roles: ['source', 'operator'],
    parameters: [queryParam('limit', 'how many (1-200, default 20)', { type: 'integer', minimum: 1, maximum: 200 })],
    responses: {
      '200': response('The jobs', { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: JOB_SCHEMA } } }, { one: { jobs: [JOB_EXAMPLE] } }),
    },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/v1/import/{jobId}',
    operationId: 'importJob',
    tag: 'Records',
    summary: 'An import job\'s progress (POST /import with Prefer: respond-async answers 202 with its id)',
    roles: ['source', 'operator'],
    parameters: [JOB],
    responses: { '200': response('The job', JOB_SCHEMA, { running: JOB_EXAMPLE }) },
    errors: [404],
  },
  {
    method: 'delete',
    path: '/api/v1/import/{jobId}',
    operationId: 'cancelImportJob',
    tag: 'Records',
    summary: 'Cancel a running import job (committed lines stay)',
    roles: ['source'],
    parameters: [JOB],
    responses: { '200': response('The job as it ended', JOB_SCHEMA) },
    errors: [404, 409],
  },
  {
    method: 'get',
    path: '/api/v1/import/{jobId}/results',
    operationId: 'importJobResults',
    tag: 'Records',
    summary: "An import job's per-line results (NDJSON)",
    roles: ['source'],
    parameters: [JOB],
    responses: { '200': { description: 'One ImportLineResult per line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } } },
    errors: [404],
  },
];
