/**
 * The accounting of identified analytics output (issue #11): every identified view run or export
 * (`deidentify=false`, privacy-officer or admin) is a disclosure of the clients whose data it
 * contained, recorded in the local AuditEvent trail (the `audit` store slice, category `disclosure`)
 * beside the sync's writes, one entry per client, so that a client's accounting
 * (GET /api/v1/clients/{mrn}/disclosures) lists it. De-identified output discloses no PHI: no entry.
 *
 * Shaped after DICOM/IHE "Export" (DCM 110106, action R): the source agent is this service, the
 * destination agent (requestor) is the credential that received the data; entities: the client (by MRN
 * identifier, as the sync's entries), the views or resource types read (a Query entity) and the export
 * job. Never content, never a name.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventEntity, Patient } from '@medplum/fhirtypes';
import { CompartmentTally } from '../analytics/client-tally.js';
import type { ResourceSource } from '../analytics/source.js';
import type { DisclosureAccounting, IdentifiedDisclosure } from '../deid/identified-access.js';
import type { AuditEntry, AuditStore } from '../store/port.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const BALP_ENTITY = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
/** AuditEvent.type of these entries: how the accounting tells them from the sync's writes (type `rest`). */
export const EXPORT_EVENT_TYPE = { system: DCM, code: '110106', display: 'Export' };
/** The AuditEntry category: the same as the sync's disclosures, so the client's accounting lists both. */
const CATEGORY = 'disclosure';
/** Entries appended per transaction (a run over thousands of clients commits in a few). */
const CHUNK = 500;

/** One client of an identified output: by MRN, or by Patient id when the Patient has no MRN of ours. */
export type DisclosedClient = { mrn: string } | { patientId: string };

export interface AnalyticsDisclosureInput extends Omit<IdentifiedDisclosure, 'clients'> {
  ns: string;
  mrnSystem: string;
  client: DisclosedClient;
  now?: Date;
}

/** What was read, in words: `$viewdefinition-run of view consents (Consent)`. */
export function analyticsWhat(d: Pick<IdentifiedDisclosure, 'action' | 'views' | 'types'>): string {
  const views = d.views?.length ? ` of view${d.views.length > 1 ? 's' : ''} ${d.views.join(', ')}` : '';
  return `identified ${d.action}${views} (${d.types.join(', ')})`;
}

/** The AuditEntry (AuditEvent plus index columns) of one client of one identified output. */
export function buildAnalyticsDisclosure(i: AnalyticsDisclosureInput): AuditEntry {
  const recorded = (i.now ?? new Date()).toISOString();
  const id = randomUUID();
  const entity: AuditEventEntity[] = [
    {
      what: 'mrn' in i.client ? { identifier: { system: i.mrnSystem, value: i.client.mrn } } : { reference: `Patient/${i.client.patientId}` },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    },
    {
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      description: analyticsWhat(i),
    },
  ];
  if (i.jobId) {
    entity.push({ what: { identifier: { system: `${i.ns}/sid/export-job`, value: i.jobId } }, type: { system: BALP_ENTITY, code: 'XrequestId' }, description: 'export job' });
  }
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id,
    type: EXPORT_EVENT_TYPE,
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'operation', display: 'operation' }],
    action: 'R',
    recorded,
    outcome: '0',
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: `${i.ns}/sid/device`, value: 'collateral-fhir' }, display: 'collateral-fhir' },
        requestor: false,
      },
      {
        type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
        who: { identifier: { system: `${i.ns}/sid/credential`, value: i.who }, display: i.who },
        requestor: true,
      },
    ],
    source: {
      observer: { display: 'collateral-fhir' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
  return { id, recorded, clientMrn: 'mrn' in i.client ? i.client.mrn : null, category: CATEGORY, outcome: 'success', event };
}

export interface AnalyticsAccountingOptions {
  audit: Pick<AuditStore, 'appendAudit'>;
  /** Where a Patient id is resolved to its MRN (the resources this service holds). */
  source?: Pick<ResourceSource, 'read'>;
  ns: string;
  mrnSystem: string;
  now?: () => Date;
}

/**
 * The service's accounting of identified analytics output: tallies by patient compartment, resolves
 * Patient ids to MRNs (one read per client, not per resource) and appends one entry per client.
 */
export function analyticsAccounting(o: AnalyticsAccountingOptions): DisclosureAccounting {
  return {
    newTally: () => new CompartmentTally(o.mrnSystem),
    async record(d) {
      const tally = d.clients as CompartmentTally;
      const clients = await resolveClients(tally, o);
      const now = o.now?.() ?? new Date();
      const { clients: _, ...what } = d;
      for (let start = 0; start < clients.length; start += CHUNK) {
        const entries = clients.slice(start, start + CHUNK).map((client) => buildAnalyticsDisclosure({ ...what, ns: o.ns, mrnSystem: o.mrnSystem, client, now }));
        await o.audit.appendAudit(entries);
      }
    },
  };
}

async function resolveClients(tally: CompartmentTally, o: AnalyticsAccountingOptions): Promise<DisclosedClient[]> {
  const mrns = new Set(tally.mrns);
  const unresolved: DisclosedClient[] = [];
  for (const id of tally.patientIds) {
    const patient = (await o.source?.read('Patient', id)) as Patient | undefined;
    const mrn = patient?.identifier?.find((x) => x.system === o.mrnSystem && x.value)?.value;
    if (mrn) {
      mrns.add(mrn);
    } else {
      // A Patient without an MRN of ours (or gone): still accounted, by reference, in the trail.
      unresolved.push({ patientId: id });
    }
  }
  return [...[...mrns].sort().map((mrn) => ({ mrn })), ...unresolved];
}
