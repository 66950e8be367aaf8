/**
 * Types of the mapping engine: its public API (config, context, results) and the shape of a mapping
 * file as described by mappings/mapping.schema.json.
 */
import type { FhirPathAtom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ConsentRecord, Participant, RecordKind, SessionRecord } from '../domain/records.js';
import type { ConceptMapIndex } from './conceptmap.js';

/** Deployment settings a mapping reads (as %ns, %mrnSystem and %config). */
export interface MappingConfig {
  /** The practice-owned identifier namespace, e.g. `https://fhir.example-practice.org` (no trailing slash). */
  ns: string;
  /** The EHR's MRN identifier system, used to reference the client's Patient. */
  mrnSystem: string;
  /** Share phone and e-mail of non-family participants (teacher, employer ...). Off by default: minimum necessary. */
  includeNonFamilyContactDetails?: boolean;
}

/** What a record needs besides itself to be mapped. */
export interface MappingContext {
  config: MappingConfig;
  /** The session a note belongs to (required for a note). */
  session?: SessionRecord;
  /** The participants a session or consent references, by participant id. */
  participants?: Record<string, Participant>;
  /**
   * The consents the disclosure relies on, as decided by the disclosure gate (%consents): security labels
   * (42 CFR Part 2) and DocumentReference.context.related follow them. Undefined when no gate decided.
   */
  consents?: ConsentRecord[];
  /** v3 PurposeOfUse the disclosure happens under, as decided by the gate (%purposeOfUse): TREAT, THREAT ... */
  purposeOfUse?: string;
}

/** How the sync layer writes a mapped resource. */
export type WriteMode = 'upsert' | 'create-if-none-exist';

/** One output resource and how to write it. */
export interface MappedResource {
  resource: Resource;
  /** The identifier used for idempotent upsert (also present in `resource.identifier`). */
  key: { system: string; value: string };
  write: WriteMode;
  sourceKind: RecordKind;
  sourceId: string;
}

/** The output of one record's mapping. */
export interface MappingResult {
  mappingId: string;
  mappingVersion: string;
  resources: MappedResource[];
}

/** A template: JSON whose strings may hold `{{ fhirpath }}` and whose objects may be directives. */
export type Template = string | number | boolean | Template[] | { [key: string]: Template };
export type TemplateObject = { [key: string]: Template };

/** A `reject` rule of a mapping file. */
export interface RejectRule {
  for?: string;
  if: string;
  path: string;
  message: string;
}

/** A `resources` entry of a mapping file. */
export interface ResourceRule {
  when?: string;
  key: { system: string; value: string };
  write: WriteMode;
  template: TemplateObject;
}

/** A mapping file, as validated by mappings/mapping.schema.json. */
export interface MappingFile {
  id: string;
  version: string;
  kind: RecordKind;
  description?: string;
  reject?: RejectRule[];
  let?: TemplateObject;
  resources: ResourceRule[];
}

/** A mapping file after load: validated, every FHIRPath expression parsed once. */
export interface LoadedMapping {
  id: string;
  version: string;
  kind: RecordKind;
  /** The file it came from (for messages). */
  file: string;
  definition: MappingFile;
  /** Parsed FHIRPath, by expression text. */
  expressions: ReadonlyMap<string, FhirPathAtom>;
}

/** Every mapping and ConceptMap under mappings/, loaded and checked. */
export interface MappingSet {
  /** The mapping for a record kind. */
  get(kind: RecordKind): LoadedMapping;
  /** All loaded mappings. */
  readonly mappings: readonly LoadedMapping[];
  /** The ConceptMaps of mappings/conceptmaps, by id. */
  readonly conceptMaps: ConceptMapIndex;
}
