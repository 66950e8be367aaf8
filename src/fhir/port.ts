/**
 * What the sync needs from a FHIR server. The only implementation talks HTTP through fhir-kit-client
 * (kit-client.ts) — to the embedded server exactly as to an external one.
 */
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';

export interface FhirTarget {
  /** A stable name used as the key of this target's ledger and sync state. */
  readonly name: string;
  readonly baseUrl: string;
  capabilities(): Promise<CapabilityStatement>;
  /** Type-level search, e.g. search('Patient', { identifier: 'sys|MRN-1' }). */
  search(resourceType: string, params: Record<string, string>): Promise<Bundle>;
  transaction(bundle: Bundle): Promise<Bundle>;
  read(resourceType: string, id: string): Promise<Resource>;
}
