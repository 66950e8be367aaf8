/**
 * The mapping engine: mapping files (mappings/*.json) turn inbound records into FHIR R4 resources.
 * See mappings/README.md for the file format and template language.
 */
export { loadMappings } from './load.js';
export { mapRecord } from './transform.js';
export { ConceptMapIndex, PRACTICE_NAMESPACE, type Translation, type TranslateResult } from './conceptmap.js';
export type {
  LoadedMapping,
  MappedResource,
  MappingConfig,
  MappingContext,
  MappingFile,
  MappingResult,
  MappingSet,
  WriteMode,
} from './types.js';
