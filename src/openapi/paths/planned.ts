/**
 * Routes of other issues, described from their documented interfaces (the access audit: issue #10). The description lists them only once the app has them (document.ts), and
 * the OpenAPI test then checks them like any other: adjust these when those routes land.
 */
import { type OperationSpec, queryParam, response } from '../operation.js';

export const PLANNED_OPERATIONS: OperationSpec[] = [
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
