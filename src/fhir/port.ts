/**
 * What the sync needs from a FHIR server. The service's implementation talks HTTP through
 * fhir-kit-client (kit-client.ts) — to the embedded server exactly as to an external one. Tests also
 * have an in-process one (memory-target.ts: medplum's FhirRouter over its MemoryRepository); both pass
 * test/fhir-target-contract/, which lists where they differ.
 *
 * Every call throws OperationOutcomeError (an UpstreamError, see upstream-error.ts) when the server
 * refuses or does not answer; the write calls return what the server said about the resource so the
 * ledger can remember its id and version.
 */
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';

/** What a write answered: the HTTP status, the resource (when returned) and the headers we rely on. */
export interface WriteResult {
  status: number;
  /** The resource as stored, when the server returned it (the default `Prefer: return=representation`). */
  resource?: Resource;
  /** `Location` (…/Type/id/_history/vid), when sent. */
  location?: string;
  /** `ETag` (W/"vid"), when sent. */
  etag?: string;
}

/** One RFC 6902 operation, as sent in a FHIR JSON Patch. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

export interface FhirTarget {
  /** A stable name used as the key of this target's ledger and sync state. */
  readonly name: string;
  readonly baseUrl: string;
  capabilities(): Promise<CapabilityStatement>;
  /** Type-level search, e.g. search('Patient', { identifier: 'sys|MRN-1' }). */
  search(resourceType: string, params: Record<string, string>): Promise<Bundle>;
  transaction(bundle: Bundle): Promise<Bundle>;
  /** A batch Bundle: entries succeed or fail one by one, each with its own response. */
  batch(bundle: Bundle): Promise<Bundle>;
  read(resourceType: string, id: string): Promise<Resource>;
  /** The instance's history Bundle, newest version first (the console's diff between sent versions). Optional: not every target offers it. */
  history?(resourceType: string, id: string): Promise<Bundle>;
  /** GET Type/id/_history/vid: one version of a resource. */
  vread(resourceType: string, id: string, versionId: string): Promise<Resource>;
  /**
   * The next page of a searchset (its `next` link), or undefined on the last page. Refuses (throws) a
   * next link outside this target's origin: the bearer token is never sent elsewhere.
   */
  nextPage(bundle: Bundle): Promise<Bundle | undefined>;
  /** POST Type; with ifNoneExist a conditional create (`If-None-Exist: identifier=…`). */
  create(resource: Resource, options?: { ifNoneExist?: string }): Promise<WriteResult>;
  /** PUT Type/id (resource.id required); with ifMatch (W/"vid") an optimistic-locking update. */
  update(resource: Resource, options?: { ifMatch?: string }): Promise<WriteResult>;
  /** PUT Type?query: the conditional update (upsert) by search criteria. */
  conditionalUpdate(resource: Resource, query: Record<string, string>): Promise<WriteResult>;
  /** PATCH Type/id with a JSON Patch; with ifMatch an optimistic-locking patch. */
  patch(resourceType: string, id: string, operations: JsonPatchOperation[], options?: { ifMatch?: string }): Promise<WriteResult>;
}
