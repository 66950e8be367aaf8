/** The console's API: records listing and detail, remap dry run, who am I, disclosures, this description. */
import * as ex from '../examples.js';
import { CLIENT_HEADER, content, ID_SCHEMA, KIND_PARAM, type OperationSpec, pathParam, queryParam, response, schemaRef } from '../operation.js';

export const CONSOLE_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/v1/records',
    operationId: 'listRecords',
    tag: 'Records',
    summary: 'Records by sync state, newest change first, a page at a time',
    description:
      'One row per record and target. Every filter is served by an index. The client filter is the X-Client-MRN ' +
      'header (an MRN is PHI and never goes in a URL). For a masked caller the client is a pseudonym.',
    roles: ['operator', 'source', 'privacy-officer'],
    masksPhi: true,
    parameters: [
      queryParam('kind', 'record kind', schemaRef('RecordKind')),
      queryParam('id', 'one record (with kind): its rows on every target', { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' }),
      queryParam('state', 'sync state', schemaRef('SyncStateName')),
      queryParam('reason', 'reason code (no-consent, patient-not-found, upstream-422 ...)'),
      queryParam('target', 'target name'),
      queryParam('since', 'state changed at or after (date or ISO date-time)'),
      queryParam('until', 'state changed before (date or ISO date-time)'),
      queryParam('limit', 'rows per page (1-500, default 50)', { type: 'integer', minimum: 1, maximum: 500 }),
      queryParam('cursor', 'the `next` of the previous page'),
      CLIENT_HEADER,
    ],
    responses: { '200': response('One page', schemaRef('RecordsPage'), { maskedHeld: ex.recordsPage }) },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/v1/records/{kind}/{id}',
    operationId: 'recordDetail',
    tag: 'Records',
    summary: 'Everything about one record: source, consent decision, FHIR as mapped and as sent (with diff), attempts',
    description:
      'Maps the record and asks the consent engine as the sync would (nothing is stored or sent), and reads the ' +
      "resources it became back from the target with the version before, for a diff. Attempts come from the local audit.",
    roles: ['operator', 'source', 'privacy-officer'],
    masksPhi: true,
    parameters: [KIND_PARAM, pathParam('id', 'record id', ID_SCHEMA)],
    responses: { '200': response('The record in full', schemaRef('RecordDetail')) },
    errors: [400, 404],
  },
  {
    method: 'post',
    path: '/api/v1/$remap',
    operationId: 'remapDryRun',
    tag: 'Mapping',
    summary: 'What a mapping change would do to the stored records (dry run: nothing is queued)',
    description:
      'Maps every stored record (or those of `kind`) as the sync would and compares with what the target holds. ' +
      '`mappings`: candidate mapping documents replacing the deployed ones of their kinds; `diff`: a JSON diff per changed resource.',
    roles: ['source', 'operator'],
    masksPhi: true,
    requestBody: { required: false, ...content(schemaRef('RemapRequest'), { participants: ex.remapRequest }) },
    responses: { '200': response('The remap report', schemaRef('RemapReport')) },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/v1/me',
    operationId: 'whoAmI',
    tag: 'Console',
    summary: "The credential's name and roles, and whether it sees identified data",
    roles: 'authenticated',
    responses: { '200': response('Who you are', schemaRef('Me'), { admin: ex.me }) },
  },
  {
    method: 'get',
    path: '/api/v1/disclosures',
    operationId: 'disclosuresByHeader',
    tag: 'Privacy',
    summary: 'Accounting of disclosures of the client named in X-Client-MRN',
    description: 'The same as GET /clients/{mrn}/disclosures, for callers that must not put an MRN in a URL.',
    roles: ['privacy-officer'],
    parameters: [{ ...CLIENT_HEADER, required: true }],
    responses: { '200': response('Every disclosure, oldest first', schemaRef('Disclosures')) },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/v1/clients/{mrn}/disclosures',
    operationId: 'disclosures',
    tag: 'Privacy',
    summary: "Accounting of disclosures: every write of the client's data (when, what, where, under which consent) and every identified analytics read of it",
    roles: ['privacy-officer'],
    parameters: [
      pathParam('mrn', 'client MRN', { type: 'string', pattern: '^[A-Za-z0-9._:/-]{1,64}$' }),
      queryParam('_format', '`fhir` for a Bundle of AuditEvents'),
    ],
    responses: {
      '200': {
        description: 'JSON, or a FHIR searchset Bundle of AuditEvents with Accept: application/fhir+json',
        content: { 'application/json': { schema: schemaRef('Disclosures') }, 'application/fhir+json': { schema: schemaRef('FhirBundle') } },
      },
    },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/v1/openapi.json',
    operationId: 'openapi',
    tag: 'Console',
    summary: 'This description (OpenAPI 3.1)',
    roles: 'authenticated',
    responses: { '200': response('The OpenAPI document', { type: 'object' }) },
  },
];
