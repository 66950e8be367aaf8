/**
 * The OperationOutcome a validation answers with ($validate, CLI): every issue found, or one
 * information issue saying which profiles the resource is valid against. Kept beside the validator
 * rather than in outcomes.ts because it is a result, not an error.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export function validationOutcome(issues: OperationOutcomeIssue[], profiles: string[]): OperationOutcome {
  const failed = issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
  const summary: OperationOutcomeIssue = {
    severity: 'information',
    code: 'informational',
    details: {
      text: failed
        ? `Invalid against ${profiles.join(', ') || 'FHIR R4'}`
        : `Valid against ${profiles.join(', ') || 'FHIR R4 (no profile of the pack applied)'}`,
    },
  };
  return { resourceType: 'OperationOutcome', id: failed ? 'validation-failed' : 'validation-passed', issue: [...issues, summary] };
}
