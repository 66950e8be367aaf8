/**
 * Local AuditEvents for sync writes, shaped after IHE Basic Audit Log Patterns (BALP) "RESTful create/update"
 * (https://profiles.ihe.net/ITI/BALP) as docs/fhir-mapping.md#provenance-and-auditevent describes: source = this service, destination =
 * the target, entities = the client, the resources written, the source record and the consents relied on.
 * Kept in our store whatever the target accepts; they are the accounting of disclosures.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { AuditEntry, LedgerEntry } from '../store/port.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

export interface WriteAuditInput {
  ns: string;
  mrnSystem: string;
  clientMrn: string | null;
  kind: RecordKind;
  recordId: string;
  recordVersion: number;
  target: string;
  targetBaseUrl: string;
  /** The resources written (success) or attempted. */
  written: Pick<LedgerEntry, 'resourceType' | 'resourceId' | 'versionId' | 'identifier'>[];
  success: boolean;
  /** Why a failed attempt failed (outcome id and first text; no PHI). */
  failure?: string;
  /** Consent record ids the disclosure relied on. */
  consentIds?: string[];
  /** v3 PurposeOfUse: TREAT by default; THREAT, HLEGAL, ETREAT for exception disclosures. */
  purposeOfUse?: string;
  /** Plain-words reason for an exception disclosure. */
  exceptionReason?: string;
  requestId?: string;
  now?: Date;
  /** How the write went (deliver.ts): one transaction or batch Bundle, or sequential requests. Default transaction. */
  interaction?: 'transaction' | 'batch' | 'sequential';
}

/** Builds the AuditEntry (AuditEvent plus index columns) for one write to a target. */
export function buildWriteAudit(i: WriteAuditInput): AuditEntry {
  const recorded = (i.now ?? new Date()).toISOString();
  const id = randomUUID();
  // Sequential writes are REST creates or updates (BALP's shapes); a version 1 everywhere means created.
  const subtype =
    i.interaction === 'sequential' ? (i.written.every((w) => w.versionId === '1') ? 'create' : 'update') : (i.interaction ?? 'transaction');
  const policies = (i.consentIds ?? []).map((c) => `${i.ns}/sid/roi|${c}`);
  const entity: AuditEventEntity[] = [];
  if (i.clientMrn) {
    entity.push({
      what: { identifier: { system: i.mrnSystem, value: i.clientMrn } },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  for (const w of i.written) {
    entity.push({
      what: w.resourceId ? { reference: `${w.resourceType}/${w.resourceId}${w.versionId ? `/_history/${w.versionId}` : ''}` } : { display: w.resourceType },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  entity.push({
    what: { identifier: { system: `${i.ns}/sid/source-record`, value: `${i.kind}/${i.recordId}/v${i.recordVersion}` } },
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '3', display: 'Report' },
    description: `source ${i.kind} record`,
  });
  for (const c of i.consentIds ?? []) {
    entity.push({
      what: { identifier: { system: `${i.ns}/sid/roi`, value: c } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '13', display: 'Security Resource' },
      description: 'consent relied on',
    });
  }
  if (i.requestId) {
    entity.push({ what: { identifier: { value: i.requestId } }, type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' } });
  }
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: subtype, display: subtype }],
    action: subtype === 'create' ? 'C' : subtype === 'update' ? 'U' : 'E',
    recorded,
    outcome: i.success ? '0' : '8',
    ...(i.success ? {} : { outcomeDesc: i.failure ?? 'write failed' }),
    purposeOfEvent: [{ coding: [{ system: ACT_REASON, code: i.purposeOfUse ?? 'TREAT' }], ...(i.exceptionReason ? { text: i.exceptionReason } : {}) }],
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: `${i.ns}/sid/device`, value: 'collateral-fhir' }, display: 'collateral-fhir' },
        requestor: true,
        ...(policies.length > 0 ? { policy: policies } : {}),
      },
      {
        type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
        who: { display: i.targetBaseUrl },
        requestor: false,
        network: { address: hostOf(i.targetBaseUrl), type: '1' },
      },
    ],
    source: {
      observer: { display: 'collateral-fhir' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
  return {
    id,
    recorded,
    clientMrn: i.clientMrn,
    kind: i.kind,
    recordId: i.recordId,
    target: i.target,
    category: i.success ? 'disclosure' : 'write-attempt',
    outcome: i.success ? 'success' : 'failure',
    event,
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
