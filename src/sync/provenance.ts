/**
 * The Provenance of one write (docs/fhir-mapping.md#provenance-and-auditevent, US Core Provenance): author = the therapist's
 * Practitioner (the practice Organization when the record names no clinician), assembler = this service
 * as a Device, both on behalf of the practice Organization; entity = the source record; policy = the
 * consents the disclosure gate relied on.
 *
 * Provenance has no identifier element, so each one carries a tag whose code is derived from the write
 * it attests (target, resource, record version, content). A resend of the same write finds it (by
 * If-None-Exist or a search on _tag) and never creates a second one.
 */
import { createHash } from 'node:crypto';
import type { Device, Organization, Practitioner, Provenance, Reference } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { LedgerEntry } from '../store/port.js';

const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
/** The profile pack's Provenance profile (profiles/StructureDefinition-sync-provenance.json). */
export const SYNC_PROVENANCE_PROFILE = 'https://fhir.example-practice.org/StructureDefinition/sync-provenance';
const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';

export interface ProvenanceSettings {
  ns: string;
  /** The practice's Organization identifier value (`{ns}/sid/organization|{value}`). */
  practiceId: string;
}

/** Who and why, for the Provenances of one record's writes. */
export interface ProvenanceContext {
  kind: RecordKind;
  recordId: string;
  recordVersion: number;
  /** The therapist's Practitioner on the target (`Practitioner/id`), when the record names one. */
  author?: string;
  /** Consent ids the gate relied on (decision.consentIds). */
  consentIds: string[];
  /** Consent id -> `Consent/{id}` on the target, for those the target holds. */
  consentRefs: Record<string, string>;
  purposeOfUse?: string;
}

/** The tag system that keys our Provenances. */
export function writeTagSystem(ns: string): string {
  return `${ns}/sid/sync-write`;
}

/** The code of the tag that identifies the Provenance of one write of one resource version. */
export function writeKey(target: string, w: Pick<LedgerEntry, 'resourceType' | 'identifier' | 'recordVersion' | 'contentHash'>): string {
  return createHash('sha256')
    .update(`${target}\n${w.resourceType}\n${w.identifier}\n${w.recordVersion}\n${w.contentHash}`)
    .digest('hex')
    .slice(0, 40);
}

/**
 * Builds the Provenance for a written resource.
 * @param targetRef - `Type/id/_history/vid` (or a urn:uuid inside a transaction).
 * @param created - whether the write created the resource (CREATE) or updated it (UPDATE).
 */
export function buildProvenance(s: ProvenanceSettings, c: ProvenanceContext, targetRef: string, key: string, created: boolean, now = new Date()): Provenance {
  const organization: Reference<Organization> = {
    identifier: { system: `${s.ns}/sid/organization`, value: s.practiceId },
    display: 'the practice',
  };
  const device: Reference<Device> = { identifier: { system: `${s.ns}/sid/device`, value: 'collateral-fhir' }, display: 'collateral-fhir' };
  const policy = c.consentIds.map((id) => c.consentRefs[id] ?? `${s.ns}/sid/roi|${id}`);
  return {
    resourceType: 'Provenance',
    meta: { profile: [SYNC_PROVENANCE_PROFILE], tag: [{ system: writeTagSystem(s.ns), code: key }] },
    target: [{ reference: targetRef }],
    recorded: now.toISOString(),
    ...(policy.length > 0 ? { policy } : {}),
    reason: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: c.purposeOfUse ?? 'TREAT' }] }],
    activity: { coding: [{ system: DATA_OPERATION, code: created ? 'CREATE' : 'UPDATE' }] },
    agent: [
      {
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'author', display: 'Author' }] },
        // Without a clinician (participants, consents) the practice itself is the author.
        who: c.author ? ({ reference: c.author } as Reference<Practitioner>) : organization,
        onBehalfOf: organization,
      },
      {
        // assembler, not transmitter: the service transforms the source record (US Core HIE guidance).
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'assembler', display: 'Assembler' }] },
        who: device,
        onBehalfOf: organization,
      },
    ],
    entity: [
      {
        role: 'source',
        what: {
          identifier: { system: `${s.ns}/sid/source-record`, value: `${c.kind}/${c.recordId}/v${c.recordVersion}` },
          display: `source ${c.kind} record`,
        },
      },
    ],
  };
}
