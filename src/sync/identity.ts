/**
 * Finds the client's Patient (by MRN) and a clinician's Practitioner (by NPI) on the target. Exactly one
 * match is required: no demographic guessing in a behavioral-health sync (docs/fhir-mapping.md#identity-and-references).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { HoldError } from './hold.js';
import type { ConditionalRef } from './references.js';

const TTL_MS = 60_000;

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
    const reference = `${ref.resourceType}/${matches[0].id}`;
    this.cache.set(key, { reference, expires: Date.now() + TTL_MS });
    return reference;
  }
}
