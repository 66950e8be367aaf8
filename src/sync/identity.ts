/**
 * Finds the client's Patient (by MRN) and a clinician's Practitioner (by NPI) on the target. Exactly one
 * match is required: no demographic guessing in a behavioral-health sync (docs/fhir-mapping.md#identity-and-references).
 * The search is the load stage's (IdentityResolver, cached for a minute); what its answer means is
 * decided by `identityOf`, a pure function.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { HoldError } from './hold.js';
import type { ConditionalRef } from './references.js';

const TTL_MS = 60_000;

/**
 * Decide (pure): the literal reference a search by identifier found, or the hold when it found none or
 * more than one.
 * @throws HoldError `patient-not-found`, `patient-ambiguous`, `practitioner-not-found`, `practitioner-ambiguous`.
 */
export function identityOf(ref: ConditionalRef, bundle: Bundle): string {
  const matches = (bundle.entry ?? [])
    .map((e) => e.resource as Resource | undefined)
    .filter((r): r is Resource => r?.resourceType === ref.resourceType);
  const what = ref.resourceType === 'Patient' ? 'patient' : 'practitioner';
  const label = ref.resourceType === 'Patient' ? 'MRN' : 'identifier';
  if (matches.length === 0) {
    throw new HoldError(`${what}-not-found`, `no ${ref.resourceType} with ${label} ${ref.value} on the target`);
  }
  if (matches.length > 1 || (bundle.total ?? 0) > 1) {
    throw new HoldError(`${what}-ambiguous`, `more than one ${ref.resourceType} with ${label} ${ref.value} on the target`);
  }
  return `${ref.resourceType}/${matches[0].id}`;
}

export class IdentityResolver {
  private readonly cache = new Map<string, { reference: string; expires: number }>();

  constructor(private readonly target: FhirTarget) {}

  /**
   * Resolves a conditional reference to Patient or Practitioner into "Type/id", or throws HoldError.
   */
  async resolve(ref: ConditionalRef): Promise<string> {
    const key = `${ref.resourceType}?${ref.identifier}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) {
      return hit.reference;
    }
    const bundle = await this.target.search(ref.resourceType, { identifier: ref.identifier, _count: '2' });
    const reference = identityOf(ref, bundle);
    this.cache.set(key, { reference, expires: Date.now() + TTL_MS });
    return reference;
  }
}
