/**
 * AuditEvents for access to PHI through our API and /fhir, shaped after IHE Basic Audit Log Patterns
 * (https://profiles.ihe.net/ITI/BALP): "RESTful activity" with the client agent (the credential's name
 * and network address), the server agent (this service), the patient entity (by MRN, when known) and the
 * data entities (record keys or FHIR references, never their content). For searches the query's
 * parameter NAMES are kept, not its values (a search by name would otherwise put the name in the audit).
 * The sync's own writes are audited separately as disclosures (events.ts).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { AuditInteraction } from '../auth/route-table.js';
import type { AccessAuditEntry } from '../store/port.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const BALP_ENTITY = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';

/** Most data entities kept per event; more are counted, not listed (a 10,000-result search stays small). */
export const MAX_ENTITIES = 200;

/** One thing the call touched: a FHIR reference (`Encounter/123`) or a source record key (`session/s-1`). */
export type AccessedItem = { reference: string } | { record: string };

export interface AccessEventInput {
  ns: string;
  mrnSystem: string;
  who: string;
  /** The caller's network address. */
  address?: string;
  interaction: AuditInteraction;
  /** batch or transaction, when the interaction is a Bundle. */
  bundleType?: string;
  route: string;
  status: number;
  clientMrns: string[];
  items: AccessedItem[];
  /** How many items there were in all (items may be capped). */
  itemCount?: number;
  /** Search parameter names (never values). */
  queryParams?: string[];
  requestId?: string;
  now?: Date;
}

function subtype(i: AccessEventInput): string {
  switch (i.interaction) {
    case 'upsert':
      return i.status === 201 ? 'create' : 'update';
    case 'history':
      return 'history-instance';
    case 'search':
      return 'search-type';
    case 'batch':
      return i.bundleType === 'transaction' ? 'transaction' : 'batch';
    case 'export':
      return 'operation';
    default:
      return i.interaction;
  }
}

const ACTION: Record<string, AuditEvent['action']> = { create: 'C', read: 'R', vread: 'R', 'history-instance': 'R', 'search-type': 'E', update: 'U', patch: 'U', delete: 'D' };

/** Builds the stored entry (AuditEvent plus the columns it is found by) for one audited call. */
export function buildAccessEvent(i: AccessEventInput): AccessAuditEntry {
  const recorded = (i.now ?? new Date()).toISOString();
  const id = randomUUID();
  const sub = subtype(i);
  const entity: AuditEventEntity[] = [];
  for (const mrn of i.clientMrns) {
    entity.push({
      what: { identifier: { system: i.mrnSystem, value: mrn } },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  for (const item of i.items.slice(0, MAX_ENTITIES)) {
    entity.push(
      'reference' in item
        ? { what: { reference: item.reference }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' } }
        : {
            what: { identifier: { system: `${i.ns}/sid/source-record`, value: item.record } },
            type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
            role: { system: OBJECT_ROLE, code: '3', display: 'Report' },
            description: 'source record',
          }
    );
  }
  const total = i.itemCount ?? i.items.length;
  if (total > MAX_ENTITIES) {
    entity.push({ type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, description: `${total - MAX_ENTITIES} more not listed (${total} in all)` });
  }
  if (i.queryParams) {
    entity.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      description: `search parameters: ${i.queryParams.join(', ') || '(none)'}`,
    });
  }
  if (i.requestId) {
    entity.push({ what: { identifier: { value: i.requestId } }, type: { system: BALP_ENTITY, code: 'XrequestId' } });
  }
  const outcome = i.status < 400 ? '0' : i.status < 500 ? '4' : '8';
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: RESTFUL, code: sub, display: sub }],
    action: ACTION[sub] ?? 'E',
    recorded,
    outcome,
    ...(outcome === '0' ? {} : { outcomeDesc: `HTTP ${i.status}` }),
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: `${i.ns}/sid/credential`, value: i.who }, display: i.who },
        requestor: true,
        ...(i.address ? { network: { address: i.address, type: '2' as const } } : {}),
      },
      {
        type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
        who: { identifier: { system: `${i.ns}/sid/device`, value: 'collateral-fhir' }, display: 'collateral-fhir' },
        requestor: false,
      },
    ],
    source: {
      observer: { display: 'collateral-fhir' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
  return { id, recorded, who: i.who, action: sub, route: i.route, status: i.status, clientMrns: [...new Set(i.clientMrns)], event };
}
