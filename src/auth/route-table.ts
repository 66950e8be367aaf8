/**
 * THE route table: every HTTP route of the service, the roles that may call it, and whether a call
 * reads or changes PHI (and so goes to the access audit). One middleware enforces it
 * (http/middleware/route-guard.ts) before any router runs; a request that matches no entry is refused
 * (deny by default), and test/security/route-matrix.test.ts walks every route of the real app with
 * every role, failing for a route that has no entry here. docs/security.md shows this table, rendered
 * by `renderRouteTable()` and checked by a test.
 *
 * Rules: the first entry whose method and pattern match wins, so specific patterns come first. `admin`
 * may call every non-public route. How to add a route: src/auth/README.md.
 */
import type { AnyRole } from './principal.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** BALP / FHIR restful-interaction of an audited call; `upsert` is create (201) or update (200). */
export type AuditInteraction =
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'create'
  | 'update'
  | 'upsert'
  | 'patch'
  | 'delete'
  | 'batch'
  | 'operation'
  | 'export';

/**
 * What an audited call is about, for the AuditEvent's entities and the client column
 * (audit/access-event.ts): a source record, an import, one client's data, FHIR resources, or an
 * operation that reports its own subjects through `res.locals.auditDetail`.
 */
export type AuditSubject = 'record' | 'import' | 'client' | 'access-audit' | 'fhir' | 'operation';

export interface AuditSpec {
  interaction: AuditInteraction;
  subject: AuditSubject;
}

export interface RouteRule {
  methods: readonly HttpMethod[];
  /** See route-pattern.ts. */
  path: string;
  /** `public`: no credential; `authenticated`: any valid credential; else these roles (admin implied). */
  allow: 'public' | 'authenticated' | readonly AnyRole[];
  /** Set when the call reads or changes PHI: it is recorded in the access audit. */
  audit?: AuditSpec;
  /** No handler timeout (HTTP_HANDLER_TIMEOUT_MS): a synchronous import of a large body takes minutes. */
  longRunning?: true;
  /** Client MRNs in the answer are masked for a caller whose only role granting this route is one of these. */
  maskFor?: readonly AnyRole[];
  /** One line for docs/security.md. */
  what: string;
}

const TYPE = ':type([A-Z][A-Za-z]{1,63})';
const ID = ':id([A-Za-z0-9\\-.]{1,64})';
const VID = ':vid([A-Za-z0-9\\-.]{1,64})';
/** The resource types the sync writes (mappings/*.json, sync/provenance.ts); nothing else is writable by it. */
export const SYNC_WRITABLE_TYPES = ['Encounter', 'RelatedPerson', 'Practitioner', 'Consent', 'DocumentReference', 'Provenance'] as const;
const SYNC_TYPE = `:type(${SYNC_WRITABLE_TYPES.join('|')})`;
const COLLECTION = ':collection(participants|consents|sessions|notes)';

const FHIR_READERS: readonly AnyRole[] = ['fhir-reader', 'fhir-sync'];
const ANALYTICS: readonly AnyRole[] = ['analyst', 'privacy-officer'];
const OPERATOR: readonly AnyRole[] = ['operator'];
const SOURCE: readonly AnyRole[] = ['source'];

const fhirAudit = (interaction: AuditInteraction): AuditSpec => ({ interaction, subject: 'fhir' });

export const ROUTE_TABLE: readonly RouteRule[] = [
  // Public: nothing about data.
  { methods: ['GET'], path: '/healthz', allow: 'public', what: 'liveness' },
  { methods: ['GET'], path: '/readyz', allow: 'public', what: 'readiness (issue #13)' },
  { methods: ['GET'], path: '/.well-known/jwks.json', allow: 'public', what: 'our public signing keys (empty set unless SMART Backend Services)' },
  // Only the console's shell page and its static assets are public: a page that renders data needs its own entry with roles.
  { methods: ['GET'], path: '/console', allow: 'public', what: 'the web console\'s page, no data (its API calls carry a credential; issue #13)' },
  { methods: ['GET'], path: '/console/assets/*', allow: 'public', what: 'the web console\'s scripts, styles and images (issue #13)' },
  { methods: ['GET'], path: '/api/v1/openapi.json', allow: 'authenticated', what: 'OpenAPI description (issue #13)' },
  { methods: ['GET'], path: '/metrics', allow: OPERATOR, what: 'Prometheus metrics, no identifiers (issue #13)' },
  { methods: ['GET'], path: '/', allow: 'public', what: 'redirects to the web console (/console/; issue #13)' },
  { methods: ['GET'], path: '/api/v1/me', allow: 'authenticated', what: 'who the credential is: name, roles, whether answers are masked (issue #13)' },

  // The console's operations API (issue #13). The routes check the same roles again; masking for the
  // operator is decided by the route itself (console/access.ts), on top of maskFor.
  {
    methods: ['GET'],
    path: '/api/v1/records',
    allow: ['operator', 'source', 'privacy-officer'],
    maskFor: OPERATOR,
    audit: { interaction: 'search', subject: 'operation' },
    what: 'records listing by state, reason, kind, client (X-Client-MRN header), date; masked for operator (issue #13)',
  },
  {
    methods: ['GET'],
    path: '/api/v1/records/:collection/:id',
    allow: ['operator', 'source', 'privacy-officer'],
    maskFor: OPERATOR,
    audit: { interaction: 'read', subject: 'record' },
    what: 'a record in full: source, consent decision, FHIR as mapped and as sent, attempts; masked for operator (issue #13)',
  },
  {
    methods: ['POST'],
    path: '/api/v1/$remap',
    allow: ['source', 'operator'],
    maskFor: OPERATOR,
    audit: { interaction: 'operation', subject: 'operation' },
    longRunning: true,
    what: 'remap dry run over stored records with candidate mappings; nothing queued (issue #13)',
  },
  { methods: ['GET'], path: '/api/v1/sync/targets', allow: OPERATOR, what: 'each target: address, auth and token state, CapabilityStatement, health (issue #13)' },
  { methods: ['GET'], path: '/api/v1/sync/throughput', allow: OPERATOR, what: 'records written and attempts failed per time bucket (issue #13)' },
  {
    methods: ['GET'],
    path: '/api/v1/disclosures',
    allow: ['privacy-officer'],
    audit: { interaction: 'search', subject: 'operation' },
    what: 'accounting of disclosures of one client, the MRN in the X-Client-MRN header (issue #13)',
  },
  { methods: ['GET'], path: '/api/v1/import', allow: ['source', 'operator'], what: 'the latest import jobs, counts and states only (issue #13)' },

  // The inbound API.
  { methods: ['GET'], path: '/api/v1/sync/status', allow: OPERATOR, what: 'delivery figures per target' },
  { methods: ['GET'], path: '/api/v1/sync/dead-letters', allow: OPERATOR, maskFor: OPERATOR, what: 'dead letters' },
  { methods: ['POST'], path: '/api/v1/sync/dead-letters/replay', allow: OPERATOR, what: 'replay dead letters by filter' },
  { methods: ['GET'], path: '/api/v1/sync/dead-letters/:kind/:id', allow: OPERATOR, maskFor: OPERATOR, what: 'one dead letter' },
  { methods: ['POST'], path: '/api/v1/sync/dead-letters/:kind/:id/replay', allow: OPERATOR, what: 'replay one dead letter' },
  { methods: ['POST'], path: '/api/v1/sync/retry', allow: OPERATOR, what: 'make waiting records due now' },
  { methods: ['GET'], path: '/api/v1/sync/review', allow: OPERATOR, maskFor: OPERATOR, what: 'records held by the target\'s identity lookup' },
  {
    methods: ['GET'],
    path: '/api/v1/clients/:mrn/disclosures',
    allow: ['privacy-officer'],
    audit: { interaction: 'search', subject: 'client' },
    what: 'accounting of disclosures of one client',
  },
  {
    methods: ['GET'],
    path: '/api/v1/audit/access',
    allow: ['privacy-officer'],
    audit: { interaction: 'search', subject: 'access-audit' },
    what: 'the access audit (who read or changed what)',
  },
  { methods: ['POST'], path: '/api/v1/import', allow: SOURCE, audit: { interaction: 'create', subject: 'import' }, longRunning: true, what: 'NDJSON import' },
  // Import jobs (POST /api/v1/import with Prefer: respond-async; the upload is the long-running POST above).
  // Progress carries counts only, so the operator sees it too; results and cancel are the source's, and
  // the handler admits only the credential that started the job (or an admin): http/routes/import-jobs.ts.
  { methods: ['GET'], path: '/api/v1/import/:jobId', allow: ['source', 'operator'], what: 'an import job\'s progress (counts, no record data; issue #8)' },
  { methods: ['DELETE'], path: '/api/v1/import/:jobId', allow: SOURCE, what: 'cancel an import job: only the credential that started it, or an admin (issue #8)' },
  { methods: ['GET'], path: '/api/v1/import/:jobId/results', allow: SOURCE, what: 'an import job\'s per-line results: only the credential that started it, or an admin (issue #8)' },
  {
    methods: ['POST'],
    path: '/api/v1/$map',
    allow: SOURCE,
    audit: { interaction: 'operation', subject: 'operation' },
    longRunning: true,
    what: 'mapping dry run (reads referenced records)',
  },
  { methods: ['PUT'], path: `/api/v1/${COLLECTION}/:id`, allow: SOURCE, audit: { interaction: 'upsert', subject: 'record' }, what: 'write a record' },
  { methods: ['GET'], path: `/api/v1/${COLLECTION}/:id`, allow: SOURCE, audit: { interaction: 'read', subject: 'record' }, what: 'read a record and its sync state' },

  // The embedded FHIR server.
  { methods: ['GET'], path: '/fhir/metadata', allow: 'authenticated', what: 'CapabilityStatement' },
  { methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], path: '/fhir/_admin/*', allow: ['admin'], audit: fhirAudit('operation'), what: 'unrestricted twin of a restricted embedded profile' },
  { methods: ['POST'], path: '/fhir/$validate', allow: ['source', 'fhir-reader', 'fhir-sync'], what: 'validate a resource against our profiles (stores nothing)' },
  { methods: ['POST'], path: `/fhir/${TYPE}/$validate`, allow: ['source', 'fhir-reader', 'fhir-sync'], what: 'validate a resource against our profiles (stores nothing)' },
  { methods: ['POST'], path: '/fhir/$viewdefinition-run', allow: ANALYTICS, audit: { interaction: 'operation', subject: 'operation' }, longRunning: true, what: 'SQL-on-FHIR view run; identified output for privacy-officer only (issue #11)' },
  { methods: ['POST'], path: '/fhir/$viewdefinition-export', allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, what: 'asynchronous view export; identified output for privacy-officer only (issue #11)' },
  { methods: ['POST'], path: '/fhir/ViewDefinition/$viewdefinition-export', allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, what: 'asynchronous view export, type level (issue #11)' },
  { methods: ['GET', 'POST'], path: '/fhir/$export', allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, what: 'Bulk Data system export (issue #11)' },
  { methods: ['GET', 'POST'], path: '/fhir/Patient/$export', allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, what: 'Bulk Data patient export (issue #11)' },
  { methods: ['GET', 'POST'], path: `/fhir/Group/${ID}/$export`, allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, what: 'Bulk Data group export (issue #11)' },
  { methods: ['GET', 'DELETE'], path: '/fhir/_export/:jobId', allow: ANALYTICS, what: 'export job status (manifest when done), cancel; the owner\'s (or an admin\'s) only (issue #11)' },
  { methods: ['GET'], path: '/fhir/_export/:jobId/result', allow: ANALYTICS, what: 'a view export\'s result Parameters (issue #11)' },
  { methods: ['GET'], path: '/fhir/_export/:jobId/files/:file', allow: ANALYTICS, audit: { interaction: 'export', subject: 'operation' }, longRunning: true, what: 'an export\'s result file; an identified job\'s needs privacy-officer (issue #11)' },
  { methods: ['POST'], path: '/fhir', allow: FHIR_READERS, audit: fhirAudit('batch'), what: 'batch or transaction Bundle: each entry is checked against this table' },
  { methods: ['GET'], path: '/fhir', allow: FHIR_READERS, audit: fhirAudit('search'), what: 'system search' },
  { methods: ['GET'], path: '/fhir/_history', allow: FHIR_READERS, audit: fhirAudit('history'), what: 'system history' },
  { methods: ['POST'], path: `/fhir/${TYPE}/_search`, allow: FHIR_READERS, audit: fhirAudit('search'), what: 'search (form)' },
  { methods: ['GET'], path: `/fhir/${TYPE}/_history`, allow: FHIR_READERS, audit: fhirAudit('history'), what: 'type history' },
  { methods: ['GET'], path: `/fhir/${TYPE}`, allow: FHIR_READERS, audit: fhirAudit('search'), what: 'search' },
  { methods: ['GET'], path: `/fhir/${TYPE}/${ID}`, allow: FHIR_READERS, audit: fhirAudit('read'), what: 'read' },
  { methods: ['GET'], path: `/fhir/${TYPE}/${ID}/_history`, allow: FHIR_READERS, audit: fhirAudit('history'), what: 'instance history' },
  { methods: ['GET'], path: `/fhir/${TYPE}/${ID}/_history/${VID}`, allow: FHIR_READERS, audit: fhirAudit('vread'), what: 'version read' },
  { methods: ['POST'], path: `/fhir/${SYNC_TYPE}`, allow: ['fhir-sync'], audit: fhirAudit('create'), what: 'create (conditional with If-None-Exist) of a type the sync writes' },
  { methods: ['PUT'], path: `/fhir/${SYNC_TYPE}`, allow: ['fhir-sync'], audit: fhirAudit('update'), what: 'conditional update of a type the sync writes' },
  { methods: ['PUT'], path: `/fhir/${SYNC_TYPE}/${ID}`, allow: ['fhir-sync'], audit: fhirAudit('update'), what: 'update of a type the sync writes' },
  { methods: ['PATCH'], path: `/fhir/${SYNC_TYPE}/${ID}`, allow: ['fhir-sync'], audit: fhirAudit('patch'), what: 'JSON Patch of a type the sync writes' },
  { methods: ['POST'], path: `/fhir/${TYPE}`, allow: ['admin'], audit: fhirAudit('create'), what: 'create any other type' },
  { methods: ['PUT'], path: `/fhir/${TYPE}`, allow: ['admin'], audit: fhirAudit('update'), what: 'conditional update of any other type' },
  { methods: ['PUT'], path: `/fhir/${TYPE}/${ID}`, allow: ['admin'], audit: fhirAudit('update'), what: 'update of any other type' },
  { methods: ['PATCH'], path: `/fhir/${TYPE}/${ID}`, allow: ['admin'], audit: fhirAudit('patch'), what: 'JSON Patch of any other type' },
  { methods: ['DELETE'], path: `/fhir/${TYPE}/${ID}`, allow: ['admin'], audit: fhirAudit('delete'), what: 'delete' },
  { methods: ['DELETE'], path: `/fhir/${TYPE}`, allow: ['admin'], audit: fhirAudit('delete'), what: 'conditional delete' },
];
