/**
 * Where exports read resources from. `ResourceSource` is declared identically by the analytics track
 * (src/analytics/source.ts); the two are unified when the branches merge.
 */
import type { Resource } from '@medplum/fhirtypes';

/** What to read. */
export interface SourceQuery {
  /** Resource types to read, in this order. */
  types: string[];
  /** Only resources last updated strictly after this instant (an ISO date-time). */
  since?: string;
  /** Only resources in the Patient compartment of these patients (ids, or `Patient/<id>` references). */
  patients?: string[];
}

/** A stream of current (not deleted) resources, read with constant memory whatever the store's size. */
export interface ResourceSource {
  stream(opts: SourceQuery): AsyncIterable<Resource>;
}

/** Reads one resource by type and id (a Group for Group-level exports). */
export interface ResourceReader {
  read(type: string, id: string): Promise<Resource | undefined>;
}
