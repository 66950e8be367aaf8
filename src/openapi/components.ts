/**
 * The response and request schemas of the API that are not inbound records (those come from
 * schemas/inbound, inbound-schemas.ts), the error responses (every error is a FHIR OperationOutcome)
 * and the security scheme. JSON Schema 2020-12, as OpenAPI 3.1 uses it.
 */

const ref = (name: string): object => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const int = { type: 'integer', minimum: 0 };
const dateTime = { type: 'string', format: 'date-time' };
const kind = ref('RecordKind');

const obj = (properties: Record<string, object>, required: string[] = [], additional = false): object => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: additional,
});

export const API_SCHEMAS: Record<string, object> = {
  RecordKind: { type: 'string', enum: ['participant', 'consent', 'session', 'note'] },
  SyncStateName: { type: 'string', enum: ['pending', 'synced', 'held', 'failed', 'blocked', 'dead-letter', 'not-writable'] },
  OperationOutcome: obj(
    {
      resourceType: { const: 'OperationOutcome' },
      id: { type: 'string', description: 'input-invalid, transform-failed, output-invalid, upstream-failed, unauthenticated, forbidden, not-found, too-large, unavailable ...' },
      issue: {
        type: 'array',
        minItems: 1,
        items: obj(
          {
            severity: { enum: ['fatal', 'error', 'warning', 'information'] },
            code: str,
            details: obj({ text: str }, [], true),
            diagnostics: str,
            expression: { type: 'array', items: str, description: 'JSON Pointer into the input (/client/mrn), or a FHIRPath into a resource' },
          },
          ['severity', 'code'],
          true
        ),
      },
      extension: { type: 'array', items: { type: 'object' }, description: 'carries the request id' },
    },
    ['resourceType', 'issue'],
    true
  ),
  SyncedResource: obj({ resourceType: str, id: str, versionId: str, identifier: str, mapping: str }, ['resourceType', 'id', 'versionId']),
  SyncState: obj(
    {
      target: { type: 'string', description: 'the target name; `local` for records policy keeps here' },
      state: ref('SyncStateName'),
      reason: { type: 'string', description: 'plain words, ids and dates only' },
      reasonCode: { type: 'string', description: 'patient-not-found, no-consent, waiting-for-record, upstream-422 ...' },
      outcome: ref('OperationOutcome'),
      attempts: int,
      nextAttemptAt: dateTime,
      updatedAt: dateTime,
      resources: { type: 'array', items: ref('SyncedResource') },
    },
    ['target', 'state', 'attempts', 'updatedAt']
  ),
  RecordView: obj(
    { kind, id: str, version: { type: 'integer', minimum: 1 }, receivedAt: dateTime, updatedAt: dateTime, record: { type: 'object' }, sync: { type: 'array', items: ref('SyncState') } },
    ['kind', 'id', 'version', 'record', 'sync']
  ),
  WriteView: obj(
    { kind, id: str, status: { enum: ['accepted', 'unchanged'] }, version: { type: 'integer', minimum: 1 }, sync: { type: 'array', items: ref('SyncState') } },
    ['kind', 'id', 'status', 'version', 'sync']
  ),
  ImportLineResult: obj(
    { line: { type: 'integer', minimum: 1 }, kind: str, id: str, status: { enum: ['accepted', 'unchanged', 'rejected'] }, version: int, outcome: ref('OperationOutcome') },
    ['line', 'status']
  ),
  ImportResult: obj(
    { lines: int, accepted: int, unchanged: int, rejected: int, results: { type: 'array', items: ref('ImportLineResult') } },
    ['lines', 'accepted', 'unchanged', 'rejected', 'results']
  ),
  MapResource: obj(
    { resourceType: str, key: str, write: str, profile: str, valid: { type: 'boolean' }, issues: { type: 'array', items: { type: 'object' } }, resource: { type: 'object' } },
    ['resourceType', 'key', 'valid', 'resource']
  ),
  MapResult: obj(
    { line: int, kind, id: str, status: { enum: ['valid', 'invalid', 'rejected'] }, mapping: str, resources: { type: 'array', items: ref('MapResource') }, outcome: ref('OperationOutcome') },
    ['status']
  ),
  MapBatchResult: obj({ records: int, valid: int, invalid: int, rejected: int, results: { type: 'array', items: ref('MapResult') } }, ['records', 'results']),
  SyncStatus: obj(
    {
      targets: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int }, description: 'records per state, per target' },
      outbox: int,
      deadLetters: int,
      delivery: {
        type: 'object',
        additionalProperties: obj(
          { queued: int, deadLetters: int, oldestPendingAt: dateTime, oldestPendingAgeSeconds: int, heldBy: { type: 'object', additionalProperties: int } },
          ['queued', 'deadLetters', 'heldBy']
        ),
      },
    },
    ['targets', 'outbox', 'deadLetters', 'delivery']
  ),
  DeadLetter: obj(
    {
      kind,
      recordId: str,
      target: str,
      clientMrn: { type: ['string', 'null'] },
      recordVersion: int,
      attempts: int,
      failures: int,
      deadAt: dateTime,
      reason: str,
      reasonCode: str,
      outcome: ref('OperationOutcome'),
    },
    ['kind', 'recordId', 'target', 'recordVersion', 'deadAt']
  ),
  DeadLetterList: obj({ count: int, deadLetters: { type: 'array', items: ref('DeadLetter') } }, ['count', 'deadLetters']),
  DeadLetterDetail: obj({ deadLetters: { type: 'array', items: ref('DeadLetter') }, sync: { type: 'array', items: { type: 'object' } } }, ['deadLetters']),
  DeliveryFilter: obj(
    { target: str, kind, client: { type: 'string', description: 'client MRN' }, reason: { type: 'string', description: 'reason code' }, all: { type: 'boolean' } },
    []
  ),
  RetryRequest: obj({ target: str, kind, id: str, client: str, reason: str, state: { enum: ['held', 'failed', 'not-writable'] } }),
  Replayed: obj({ replayed: int }, ['replayed']),
  Retried: { oneOf: [obj({ woken: int }, ['woken']), obj({ queued: int }, ['queued'])] },
  ReviewList: obj({ count: int, review: { type: 'array', items: { type: 'object' } } }, ['count', 'review']),
  Disclosure: obj(
    {
      channel: { enum: ['sync', 'identified-analytics'], description: 'sync: a write to a target; identified-analytics: an identified view run or export (deidentify=false)' },
      when: dateTime,
      record: obj({ kind: str, id: str, version: int }, ['kind', 'id']),
      resources: { type: 'array', items: obj({ resourceType: str, id: str, versionId: str }, ['resourceType', 'id']) },
      target: obj({ name: str, url: str }),
      basis: { enum: ['consent', 'exception', 'not-required', 'privileged-role'] },
      purposeOfUse: str,
      consentIds: { type: 'array', items: str },
      exceptionReason: str,
      analytics: obj({ what: str, jobId: str }, ['what']),
      auditEventId: str,
    },
    ['channel', 'when', 'resources', 'basis', 'consentIds', 'auditEventId']
  ),
  Disclosures: obj({ client: obj({ mrn: str }, ['mrn']), count: int, disclosures: { type: 'array', items: ref('Disclosure') } }, ['client', 'count', 'disclosures']),
  FhirBundle: obj({ resourceType: { const: 'Bundle' }, type: str, total: int, entry: { type: 'array', items: { type: 'object' } } }, ['resourceType', 'type'], true),
  RecordRow: obj(
    {
      kind,
      id: str,
      target: str,
      state: ref('SyncStateName'),
      reason: str,
      reasonCode: str,
      attempts: int,
      nextAttemptAt: dateTime,
      updatedAt: dateTime,
      client: { type: ['string', 'null'], description: 'the MRN, or for a masked caller a pseudonym (client-1a2b3c4d) stable while the service runs' },
      recordVersion: { type: 'integer', minimum: 1 },
      recordUpdatedAt: dateTime,
    },
    ['kind', 'id', 'target', 'state', 'attempts', 'updatedAt', 'client', 'recordVersion']
  ),
  RecordsPage: obj(
    { count: int, masked: { type: 'boolean' }, records: { type: 'array', items: ref('RecordRow') }, next: { type: 'string', description: 'pass as cursor for the next page' } },
    ['count', 'masked', 'records']
  ),
  RecordDetail: obj(
    {
      kind,
      id: str,
      version: int,
      receivedAt: dateTime,
      updatedAt: dateTime,
      client: { type: ['string', 'null'] },
      masked: { type: 'boolean' },
      record: { type: 'object' },
      sync: { type: 'array', items: ref('SyncState') },
      consent: {
        type: 'array',
        items: obj({ target: str, effect: { enum: ['permit', 'hold', 'deny'] }, reasons: { type: 'array', items: str }, consentIds: { type: 'array', items: str }, purposeOfUse: str, waiting: str }, ['target', 'reasons']),
      },
      mapped: obj({ status: { enum: ['mapped', 'not-mapped'] }, mapping: str, resources: { type: 'array', items: ref('MapResource') }, reason: str }, ['status']),
      sent: {
        type: 'array',
        items: obj(
          {
            target: str,
            resourceType: str,
            id: str,
            versionId: str,
            identifier: str,
            mapping: str,
            syncedAt: dateTime,
            current: { type: 'object' },
            previous: obj({ versionId: str, resource: { type: 'object' } }),
            diff: { type: 'array', items: ref('Difference') },
            unreadable: str,
          },
          ['target', 'resourceType', 'id', 'versionId']
        ),
      },
      attempts: {
        type: 'array',
        items: obj(
          { at: dateTime, target: str, outcome: { enum: ['success', 'failure'] }, interaction: str, resources: { type: 'array', items: str }, failure: str, purposeOfUse: str, consentIds: { type: 'array', items: str }, auditEventId: str },
          ['at', 'outcome', 'resources', 'auditEventId']
        ),
      },
    },
    ['kind', 'id', 'version', 'masked', 'record', 'sync', 'consent', 'mapped', 'sent', 'attempts']
  ),
  Difference: obj({ path: str, before: {}, after: {} }, ['path']),
  RemapRequest: obj({ kind, diff: { type: 'boolean' }, mappings: { type: 'array', maxItems: 4, items: { type: 'object', description: 'a mapping document (mappings/*.json)' } } }),
  RemapReport: obj(
    {
      candidate: { type: 'boolean' },
      masked: { type: 'boolean' },
      target: str,
      mappings: { type: 'array', items: str },
      records: int,
      resources: obj({ unchanged: int, changed: int, new: int }, ['unchanged', 'changed', 'new']),
      changes: {
        type: 'array',
        items: obj(
          { kind, recordId: str, resourceType: str, identifier: str, status: { enum: ['changed', 'new'] }, before: str, after: str, issues: { type: 'array', items: { type: 'object' } }, diff: { type: 'array', items: ref('Difference') }, diffNote: str },
          ['kind', 'recordId', 'resourceType', 'identifier', 'status', 'after', 'issues']
        ),
      },
      notMapped: { type: 'array', items: obj({ kind, recordId: str, reason: str }, ['kind', 'recordId', 'reason']) },
      skipped: { type: 'array', items: obj({ kind, recordId: str }, ['kind', 'recordId']) },
    },
    ['target', 'mappings', 'records', 'resources', 'changes', 'notMapped', 'skipped']
  ),
  Targets: obj(
    {
      targets: {
        type: 'array',
        items: obj(
          {
            name: str,
            url: str,
            embedded: { type: 'boolean' },
            auth: str,
            token: { type: 'object', description: 'the OAuth2 token state (never the token): obtainedAt, expiresAt, requestedScope, grantedScope, missingPermissions, lastError' },
            capabilities: ref('CapabilityState'),
            health: obj(
              {
                lastResponseAt: dateTime,
                lastStatusClass: str,
                lastSuccessAt: dateTime,
                consecutiveFailures: int,
                requests: int,
                throttledLastHour: int,
                lastThrottledAt: dateTime,
                lastRetryAfterSeconds: int,
                pausedUntil: dateTime,
              },
              ['consecutiveFailures', 'requests', 'throttledLastHour']
            ),
          },
          ['name', 'url', 'embedded', 'auth', 'capabilities', 'health']
        ),
      },
    },
    ['targets']
  ),
  CapabilityState: obj({ ok: { type: 'boolean' }, readAt: dateTime, fhirVersion: str, software: str, reason: str, checkedAt: dateTime }, ['ok']),
  Throughput: obj(
    {
      minutes: int,
      bucketSeconds: int,
      synced: int,
      failed: int,
      buckets: { type: 'array', items: obj({ start: dateTime, synced: int, failed: int }, ['start', 'synced', 'failed']) },
    },
    ['minutes', 'bucketSeconds', 'synced', 'failed', 'buckets']
  ),
  Me: obj({ name: str, roles: { type: 'array', items: str }, identified: { type: 'boolean' } }, ['name', 'roles', 'identified']),
  Readiness: obj(
    {
      status: { enum: ['ready', 'ready-target-unavailable', 'not-ready', 'stopping'] },
      checks: obj(
        {
          store: ref('Check'),
          migrations: ref('Check'),
          intake: ref('Check'),
          target: ref('CapabilityState'),
        },
        ['store', 'migrations', 'intake', 'target']
      ),
    },
    ['status', 'checks']
  ),
  Check: obj({ ok: { type: 'boolean' }, reason: str, pending: { type: 'array', items: str } }, ['ok']),
  Health: obj({ status: { const: 'ok' } }, ['status']),
  Jwks: obj({ keys: { type: 'array', items: { type: 'object' } } }, ['keys'], true),
};

/** Error responses, each an OperationOutcome. */
export const ERROR_RESPONSES: Record<string, { description: string }> = {
  '400': { description: 'The request is invalid: every problem at once, each with its JSON path (`input-invalid`).' },
  '401': { description: 'No bearer token, or not a valid one (`unauthenticated`).' },
  '403': { description: 'The credential lacks the role this needs; the message names the roles that would do (`forbidden`).' },
  '404': { description: 'No such record or resource.' },
  '413': { description: 'The body exceeds the configured limit (`too-large`).' },
  '415': { description: 'A body in a content type this route does not read.' },
  '422': { description: 'Valid input that cannot be mapped, or whose FHIR output fails its profile (`transform-failed`, `output-invalid`).' },
  '502': { description: 'The FHIR target refused or failed (`upstream-failed`).' },
  '503': { description: 'The service is stopping (writes; with Retry-After) or the target did not answer (`unavailable`, `upstream-failed`).' },
};

export function errorResponses(): Record<string, object> {
  return Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([code, r]) => [
      `E${code}`,
      {
        description: r.description,
        content: { 'application/fhir+json': { schema: ref('OperationOutcome') } },
        ...(code === '503' ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } } } : {}),
      },
    ])
  );
}
