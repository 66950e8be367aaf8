/**
 * Valid resources of every profile of the pack (mapping output of the contract examples, and a
 * hand-made Provenance after docs/fhir-mapping.md#provenance-and-auditevent), and small helpers to break them.
 */
import type { Provenance, Resource } from '@medplum/fhirtypes';
import { mapRecord } from '../../src/mapping/index.js';
import { loadProfiles, type ProfilePack } from '../../src/profiles/pack.js';
import { byId, config, consent, mappings, note, participant, session } from '../mapping/fixtures.js';

export const CANONICAL = 'https://fhir.example-practice.org';
export const sd = (id: string): string => `${CANONICAL}/StructureDefinition/${id}`;

export function pack(): ProfilePack {
  return loadProfiles();
}

const participants = byId(
  participant({ id: 'p-001', relationship: 'mother' }),
  participant({ id: 'p-002', relationship: 'guardian' }),
  participant({ id: 'p-003', relationship: 'psychiatrist', npi: '1497758544' })
);

function mapped(kind: 'participant' | 'consent' | 'session' | 'note', record: object, context: object = {}): Resource {
  return mapRecord(mappings(), kind, record as never, { config, ...context }).resources[0].resource;
}

export const provenance: Provenance = {
  resourceType: 'Provenance',
  meta: { profile: [sd('sync-provenance')] },
  target: [{ reference: 'DocumentReference/doc-1/_history/1' }],
  occurredDateTime: '2026-02-01T17:10:00-05:00',
  recorded: '2026-02-01T17:12:03Z',
  activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE' }] },
  policy: ['Consent/roi-1'],
  agent: [
    {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] },
      who: { reference: 'Practitioner/therapist-1' },
      onBehalfOf: { reference: 'Organization/practice' },
    },
    {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'transmitter' }] },
      who: { reference: 'Device/collateral-sync' },
      onBehalfOf: { reference: 'Organization/practice' },
    },
  ],
  entity: [{ role: 'source', what: { identifier: { system: `${CANONICAL}/sid/note`, value: 'n-001' } } }],
};

/** One valid resource per profile id. */
export function validResources(): Record<string, Resource> {
  return {
    'collateral-related-person': mapped('participant', participant()),
    'collateral-practitioner': mapped('participant', participant({ relationship: 'psychiatrist', npi: '1497758544', legalGuardian: false })),
    'collateral-consent': mapped('consent', consent(), { participants }),
    'collateral-encounter': mapped('session', session(), { participants }),
    'collateral-session-note': mapped('note', note(), { session: session() }),
    'sync-provenance': structuredClone(provenance),
  };
}

/** A deep copy changed by `change`. */
export function broken<T extends Resource>(resource: T, change: (r: any) => void): T {
  const copy = structuredClone(resource) as any;
  change(copy);
  return copy as T;
}
