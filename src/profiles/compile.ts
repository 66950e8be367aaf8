/**
 * Parses a profile once for @medplum/core's validator.
 *
 * Why not `validateResource(resource, { profile })`: @medplum/core 4.5.2 parses the StructureDefinition
 * again on every call (`new ResourceValidator` -> `parseStructureDefinition`), about two thirds of the
 * cost of a profile validation (measured: docs/mappings-and-profiles.md). Instead each profile is
 * registered once, with `loadDataType`, as a type of its own named by a URL (medplum indexes
 * StructureDefinitions whose `type` is a URL as types, as it does for logical models), and resources
 * are validated as that type with `validateTypedValue`. The validator, its checks and its messages are
 * medplum's own; test/profiles/equivalence.test.ts holds it to `validateResource(resource, { profile })`.
 *
 * Backbone elements are given type names of their own (`CollateralEncounter1Participant`): loadDataType
 * registers a profile's inner types globally by name, and the core `EncounterParticipant` must stay the
 * core one for everything else in the process (the embedded FHIR server validates with it).
 */
import { loadDataType, parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/** A root invariant of a profile, parsed once. */
export interface RootConstraint {
  key: string;
  human: string;
  expression: string;
  atom: FhirPathAtom;
}

/** A profile ready to validate against. */
export interface CompiledProfile {
  /** The key of the profile's type in medplum's schema registry. */
  typeName: string;
  /** The profile's own error invariants on the resource root (medplum reports only the first that fails). */
  rootConstraints: RootConstraint[];
}

let compiled = 0;

/**
 * Registers a profile as a validation type.
 * @param sd - The profile, with its snapshot.
 * @returns Its type name (unique per call: one URL may be compiled for several namespaces or pack copies) and
 * its parsed root invariants.
 */
export function compileProfile(sd: StructureDefinition): CompiledProfile {
  compiled++;
  const typeName = `${sd.url}|${compiled}`;
  const innerPrefix = `${sd.name}${compiled}`;
  const all = sd.snapshot?.element ?? [];
  const parents = new Set(all.map((e) => (e.path ?? '').slice(0, (e.path ?? '').lastIndexOf('.'))));
  const elements = all.map((e) => (parents.has(e.path ?? '') ? renameBackbone(e, innerPrefix) : e));
  loadDataType({ ...sd, type: typeName, snapshot: { element: elements } });
  const root = sd.snapshot?.element?.[0];
  const rootConstraints = (root?.constraint ?? [])
    .filter((c) => c.severity === 'error' && c.source === sd.url && c.key && c.expression)
    .map((c) => ({ key: c.key as string, human: c.human ?? '', expression: c.expression as string, atom: parseFhirPath(c.expression as string) }));
  return { typeName, rootConstraints };
}

/** medplum names a backbone type (one with children) after its base path; a unique first component makes the name unique. */
function renameBackbone(e: ElementDefinition, prefix: string): ElementDefinition {
  const code = e.type?.[0]?.code;
  if (code !== 'BackboneElement' && code !== 'Element') {
    return e;
  }
  const basePath = e.base?.path ?? e.path ?? '';
  const rest = basePath.slice(basePath.indexOf('.'));
  return { ...e, base: { ...e.base, path: `${prefix}${rest}` } } as ElementDefinition;
}
