/**
 * Validation of every outbound resource before it leaves. Today: FHIR R4 base validation with
 * @medplum/core; the profile pack (issue #3) plugs in here so every caller gets it.
 */
import { validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, outputInvalid } from '../outcomes.js';

/**
 * Throws OperationOutcomeError(outputInvalid) with every issue (and its FHIR path) when the resource is invalid.
 */
export function validateOutbound(resource: Resource): void {
  try {
    validateResource(resource);
  } catch (err) {
    const outcome = err instanceof OperationOutcomeError ? err.outcome : undefined;
    throw new OperationOutcomeError(outputInvalid(outcome?.issue ?? []), err);
  }
}
