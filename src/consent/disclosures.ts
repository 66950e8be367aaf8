/**
 * The accounting of disclosures of one client, read from the local AuditEvents: the sync stores one for
 * every write that reached a target, and the analytics one per client of every identified view run or
 * export (src/audit/analytics-disclosure.ts). As a plain JSON list (what a privacy officer reads) and as
 * a FHIR searchset Bundle of the AuditEvents themselves.
 */
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { AuditEntry } from '../store/port.js';
import { EXPORT_EVENT_TYPE } from '../audit/analytics-disclosure.js';
import { TREATMENT } from './exceptions.js';

export interface DisclosureItem {
  /** `sync`: a write of a record to a target; `identified-analytics`: an identified view run or export read by a person. */
  channel: 'sync' | 'identified-analytics';
  /** When the target confirmed the write, or when the identified output was produced. */
  when: string;
  /** The source record written (sync only). */
  record?: { kind: string; id: string; version?: number };
  /** The FHIR resources written, with the version the target gave each. */
  resources: { resourceType: string; id: string; versionId?: string }[];
  /** The target's name and base URL; for identified analytics, the credential that received the data. */
  target: { name?: string; url?: string };
  /**
   * consent: under the consents listed; exception: under law, without consent; not-required: no consent
   * needed (clinicians, the consent record itself); privileged-role: identified analytics output asked for
   * by a privacy-officer or admin credential (deidentify=false).
   */
  basis: 'consent' | 'exception' | 'not-required' | 'privileged-role';
  /** v3 PurposeOfUse of a sync write (identified analytics states none). */
  purposeOfUse?: string;
  /** Identified analytics: what was read (operation, views, resource types) and the export job. */
  analytics?: { what: string; jobId?: string };
  consentIds: string[];
  /** The exception's stated reason (exception disclosures only). */
  exceptionReason?: string;
  auditEventId: string;
}

const SOURCE_RECORD = /^([a-z]+)\/(.+)\/v(\d+)$/;
const RESOURCE_REF = /^([A-Z][A-Za-z]+)\/([^/]+)(?:\/_history\/(.+))?$/;

/** One disclosure in plain terms, from its AuditEntry. */
export function toDisclosureItem(entry: AuditEntry, ns: string): DisclosureItem {
  const e = entry.event;
  if (e.type?.system === EXPORT_EVENT_TYPE.system && e.type.code === EXPORT_EVENT_TYPE.code) {
    return analyticsItem(entry, ns);
  }
  const entities = e.entity ?? [];
  const source = entities.find((x) => x.what?.identifier?.system === `${ns}/sid/source-record`)?.what?.identifier?.value;
  const parsed = source ? SOURCE_RECORD.exec(source) : null;
  const resources = entities
    .filter((x) => x.role?.code === '4' && x.what?.reference)
    .flatMap((x) => {
      const m = RESOURCE_REF.exec(x.what?.reference as string);
      return m ? [{ resourceType: m[1], id: m[2], ...(m[3] ? { versionId: m[3] } : {}) }] : [];
    });
  const consentIds = entities.filter((x) => x.what?.identifier?.system === `${ns}/sid/roi`).map((x) => x.what?.identifier?.value as string);
  const purpose = e.purposeOfEvent?.[0];
  const purposeOfUse = purpose?.coding?.[0]?.code ?? TREATMENT;
  const basis = consentIds.length > 0 ? 'consent' : purposeOfUse !== TREATMENT ? 'exception' : 'not-required';
  return {
    channel: 'sync',
    when: entry.recorded,
    record: {
      kind: parsed?.[1] ?? entry.kind ?? 'unknown',
      id: parsed?.[2] ?? entry.recordId ?? 'unknown',
      ...(parsed ? { version: Number(parsed[3]) } : {}),
    },
    resources,
    target: { name: entry.target, url: e.agent?.find((a) => a.requestor === false)?.who?.display },
    basis,
    purposeOfUse,
    consentIds,
    ...(basis === 'exception' && purpose?.text ? { exceptionReason: purpose.text } : {}),
    auditEventId: entry.id,
  };
}

/** An identified analytics read (src/audit/analytics-disclosure.ts) in the same terms. */
function analyticsItem(entry: AuditEntry, ns: string): DisclosureItem {
  const e = entry.event;
  const entities = e.entity ?? [];
  const recipient = e.agent?.find((a) => a.requestor === true)?.who?.display;
  const what = entities.find((x) => x.role?.code === '24')?.description ?? 'identified analytics output';
  const jobId = entities.find((x) => x.what?.identifier?.system === `${ns}/sid/export-job`)?.what?.identifier?.value;
  return {
    channel: 'identified-analytics',
    when: entry.recorded,
    resources: [],
    target: { name: recipient },
    basis: 'privileged-role',
    consentIds: [],
    analytics: { what, ...(jobId ? { jobId } : {}) },
    auditEventId: entry.id,
  };
}

/** The AuditEvents as a FHIR searchset Bundle. */
export function toAuditBundle(entries: AuditEntry[], selfUrl: string): Bundle<AuditEvent> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    link: [{ relation: 'self', url: selfUrl }],
    entry: entries.map((e) => ({ fullUrl: `urn:uuid:${e.id}`, resource: e.event, search: { mode: 'match' } })),
  };
}
