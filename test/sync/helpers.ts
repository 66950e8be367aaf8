/**
 * Shared pieces of the sync tests: a real store, a real HTTP target client, and planned writes built by
 * hand (the writers' input) so each writer can be driven step by step against a real FHIR server.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../../src/domain/records.js';
import { fromParts, parseCapabilities, type TargetCapabilities, type TypeCapabilities } from '../../src/fhir/capabilities.js';
import { createKitClientTarget } from '../../src/fhir/kit-client.js';
import type { FhirTarget as TargetPort } from '../../src/fhir/port.js';
import { contentHash } from '../../src/store/hash.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PlannedWrite } from '../../src/sync/plan.js';

export const NS = 'https://fhir.example-practice.org';
export const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';
export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

export function openStore(dir: string, name = 'collateral.sqlite'): SqliteStore {
  return new SqliteStore(join(dir, name));
}

export function client(url: string, timeoutMs = 5000, name = url): TargetPort {
  return createKitClientTarget({ name, baseUrl: url, timeoutMs });
}

export async function capabilitiesOf(target: TargetPort): Promise<TargetCapabilities> {
  return parseCapabilities(await target.capabilities());
}

/** The same capabilities with parts taken away (a full server made to look like a smaller one). */
export function narrowed(
  caps: TargetCapabilities,
  change: { transaction?: boolean; batch?: boolean; conditional?: boolean; drop?: Record<string, string[]>; searchParamsOf?: Record<string, string[]> }
): TargetCapabilities {
  const types = new Map<string, TypeCapabilities>();
  for (const t of ['Patient', 'Practitioner', 'RelatedPerson', 'Encounter', 'Consent', 'DocumentReference', 'Provenance']) {
    const tc = caps.type(t);
    if (!tc) {
      continue;
    }
    const interactions = new Set([...tc.interactions].filter((i) => !(change.drop?.[t] ?? []).includes(i)));
    types.set(t, {
      interactions,
      conditionalCreate: change.conditional === false ? false : tc.conditionalCreate,
      conditionalUpdate: change.conditional === false ? false : tc.conditionalUpdate,
      versioned: tc.versioned,
      searchParams: change.searchParamsOf?.[t] ? new Set(change.searchParamsOf[t]) : tc.searchParams,
    });
  }
  return fromParts(change.transaction ?? caps.transaction, change.batch ?? caps.batch, types);
}

export function planned(
  resource: Resource,
  key: { system: string; value: string },
  over: Partial<Omit<PlannedWrite, 'mapped'>> & { write?: 'upsert' | 'create-if-none-exist'; kind?: RecordKind; id?: string } = {}
): PlannedWrite {
  const { write, kind, id, ...rest } = over;
  return {
    mapped: { resource, key, write: write ?? 'upsert', sourceKind: kind ?? 'participant', sourceId: id ?? key.value },
    resource,
    fullUrl: `urn:uuid:${randomUUID()}`,
    contentHash: contentHash(resource),
    mapping: 'test@1',
    recordVersion: 1,
    existing: false,
    ...rest,
  };
}

export function relatedPerson(patientRef: string, value: string, family = 'Example'): { resource: Resource; key: { system: string; value: string } } {
  const key = { system: `${NS}/sid/collateral-contact`, value };
  return {
    key,
    resource: {
      resourceType: 'RelatedPerson',
      identifier: [key],
      patient: { reference: patientRef },
      name: [{ family }],
    } as Resource,
  };
}

export function note(patientRef: string, value: string, text = 'note text', encounterRef?: string): { resource: Resource; key: { system: string; value: string } } {
  const key = { system: `${NS}/sid/note`, value };
  return {
    key,
    resource: {
      resourceType: 'DocumentReference',
      identifier: [key],
      status: 'current',
      docStatus: 'final',
      type: { coding: [{ system: 'http://loinc.org', code: '34904-3' }] },
      subject: { reference: patientRef },
      date: '2026-02-01T17:10:00-05:00',
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(text).toString('base64') } }],
      ...(encounterRef ? { context: { encounter: [{ reference: encounterRef }] } } : {}),
    } as Resource,
  };
}

export function encounter(patientRef: string, value: string, participantRef?: string): { resource: Resource; key: { system: string; value: string } } {
  const key = { system: `${NS}/sid/session`, value };
  return {
    key,
    resource: {
      resourceType: 'Encounter',
      identifier: [key],
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: patientRef },
      ...(participantRef ? { participant: [{ individual: { reference: participantRef } }] } : {}),
    } as Resource,
  };
}
