/** The inbound API: records by kind, bulk import, and the mapping dry run. */
import * as ex from '../examples.js';
import { content, headerParam, ID_SCHEMA, type OperationSpec, pathParam, queryParam, response, schemaRef } from '../operation.js';

const COLLECTIONS = [
  { collection: 'participants', kind: 'participant', schema: 'Participant' },
  { collection: 'consents', kind: 'consent', schema: 'Consent' },
  { collection: 'sessions', kind: 'session', schema: 'Session' },
  { collection: 'notes', kind: 'note', schema: 'Note' },
] as const;

const recordOps: OperationSpec[] = COLLECTIONS.flatMap(({ collection, kind, schema }): OperationSpec[] => [
  {
    method: 'put',
    path: `/api/v1/${collection}/{id}`,
    route: '/api/v1/{collection}/{id}',
    operationId: `put${schema}`,
    tag: 'Records',
    summary: `Upsert a ${kind} by its source id`,
    description:
      `Validates the ${kind} against its schema (every problem at once, each with its JSON path), stores it ` +
      'versioned and queues it for the sync in one transaction. 201 when new; 200 when updated, or unchanged ' +
      'when identical to the stored version (nothing is queued then). The path id must equal the body id.',
    roles: ['source'],
    parameters: [pathParam('id', 'the source system id', ID_SCHEMA)],
    requestBody: { required: true, ...content(schemaRef(schema), { [kind]: ex.RECORD_EXAMPLES[kind] }) },
    responses: {
      '200': response('Updated, or unchanged', schemaRef('WriteView')),
      '201': response('Created', schemaRef('WriteView'), kind === 'session' ? { session: ex.writeView } : undefined),
    },
    errors: [400, 413, 415, 503],
  },
  {
    method: 'get',
    path: `/api/v1/${collection}/{id}`,
    route: '/api/v1/{collection}/{id}',
    operationId: `get${schema}`,
    tag: 'Records',
    summary: `A ${kind} and its sync state on each target`,
    description:
      'The stored record and, per target, its state: pending, synced (with the FHIR resources, ids and versions), ' +
      'held (why), failed (the target\'s OperationOutcome), dead-letter, not-writable or blocked (the rule).',
    roles: ['source'],
    parameters: [pathParam('id', 'the source system id', ID_SCHEMA)],
    responses: {
      '200': response('The record', schemaRef('RecordView'), kind === 'session' ? { synced: ex.recordView, held: ex.heldRecordView } : undefined),
    },
    errors: [404],
  },
]);

export const RECORD_OPERATIONS: OperationSpec[] = [
  ...recordOps,
  {
    method: 'post',
    path: '/api/v1/import',
    operationId: 'importRecords',
    tag: 'Records',
    summary: 'Import records from NDJSON',
    description:
      'One `{"kind", "record"}` object per line (schema ImportLine). Good lines are stored even when others are ' +
      'rejected; the answer has a result per line. Lines are committed in chunks, so every line answered accepted is durable. ' +
      'Up to IMPORT_LIMIT_BYTES the answer comes at the end; with `Prefer: respond-async` (no size limit) the import runs as a job: ' +
      '202 at once with `Content-Location: /api/v1/import/{jobId}` and the job, whose progress GET /api/v1/import/{jobId} shows.',
    roles: ['source'],
    parameters: [headerParam('Prefer', '`respond-async`: run the import as a job (202)')],
    requestBody: { required: true, ...content({ type: 'string', description: 'NDJSON: one ImportLine per line' }, { twoLines: ex.importNdjson }, 'application/x-ndjson') },
    responses: {
      '200': response('A result per line', schemaRef('ImportResult'), { mixed: ex.importResult }),
      '202': {
        description: 'The job, started (Prefer: respond-async); the response ends when the job does',
        headers: { 'Content-Location': { description: '/api/v1/import/{jobId}', schema: { type: 'string' } } },
        content: { 'application/json': { schema: { type: 'object', required: ['id', 'state'], properties: { id: { type: 'string' }, state: { const: 'running' } } } } },
      },
    },
    errors: [400, 413, 415, 503],
  },
  {
    method: 'post',
    path: '/api/v1/$map',
    operationId: 'mapDryRun',
    tag: 'Mapping',
    summary: 'Map records without storing or sending (dry run)',
    description:
      'One JSON record (`?kind=`) or NDJSON of ImportLines: the FHIR resources each would become, each validated ' +
      'against the profile it declares, with every issue. Records it refers to come from the body first, then the store (read only).',
    roles: ['source'],
    parameters: [queryParam('kind', 'the kind of a single JSON record', schemaRef('RecordKind'))],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { oneOf: [schemaRef('Participant'), schemaRef('Consent'), schemaRef('Session'), schemaRef('Note')] }, examples: { participant: { value: ex.participant } } },
        'application/x-ndjson': { schema: { type: 'string' } },
      },
    },
    responses: {
      '200': {
        description: 'One result (single record) or a summary with a result per line (NDJSON)',
        content: { 'application/json': { schema: { oneOf: [schemaRef('MapResult'), schemaRef('MapBatchResult')] } } },
      },
    },
    errors: [400, 413, 415, 422],
  },
];
