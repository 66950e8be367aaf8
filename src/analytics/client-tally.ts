/**
 * The clients an identified output contained, counted while it streams (no second pass over the data):
 * for each resource that gave output, the Patients of its patient compartment (src/analytics/compartment.ts),
 * kept as a set of client keys, so memory grows with the number of clients, never with the resources.
 *
 * A client is known by MRN when the resource names it so (a Patient's own MRN identifier, a reference
 * by identifier or a conditional reference `Patient?identifier=<mrn system>|<mrn>`, the sync's
 * AuditEvents' client entity) and otherwise by Patient id, which the accounting resolves to the MRN by
 * reading that Patient once (src/audit/analytics-disclosure.ts).
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { ClientTally } from '../deid/identified-access.js';
import { compartmentReferenceValues, patientIdOf } from './compartment.js';

/** The clients seen, by MRN and by Patient id (a Patient named both ways is kept by MRN). */
export class CompartmentTally implements ClientTally {
  readonly mrns = new Set<string>();
  readonly patientIds = new Set<string>();
  /** Patient ids whose MRN was seen on the Patient itself: no read needed. */
  private readonly known = new Set<string>();

  /** @param mrnSystem - The identifier system of client MRNs (MRN_SYSTEM). */
  constructor(private readonly mrnSystem: string) {}

  add(resource: Resource): void {
    if (resource.resourceType === 'Patient' && resource.id) {
      const mrn = (resource as Patient).identifier?.find((i) => i.system === this.mrnSystem && i.value)?.value;
      if (mrn) {
        this.mrns.add(mrn);
        this.known.add(resource.id);
        this.patientIds.delete(resource.id);
      } else {
        this.patientIds.add(resource.id);
      }
    }
    for (const ref of compartmentReferenceValues(resource)) {
      const byIdentifier = ref.identifier?.system === this.mrnSystem ? ref.identifier.value : undefined;
      const mrn = byIdentifier ?? this.conditionalMrn(ref.reference);
      if (mrn) {
        this.mrns.add(mrn);
        continue;
      }
      const id = patientIdOf(ref.reference);
      if (id && !this.known.has(id)) {
        this.patientIds.add(id);
      }
    }
  }

  get size(): number {
    return this.mrns.size + this.patientIds.size;
  }

  /** `Patient?identifier=<mrn system>|<mrn>` (as the mappings write it, or URL-encoded) -> the MRN. */
  private conditionalMrn(reference: string | undefined): string | undefined {
    if (!reference?.startsWith('Patient?')) {
      return undefined;
    }
    const value = new URLSearchParams(reference.slice('Patient?'.length)).get('identifier');
    const bar = value?.lastIndexOf('|') ?? -1;
    return value && bar > 0 && value.slice(0, bar) === this.mrnSystem ? value.slice(bar + 1) || undefined : undefined;
  }
}
