/**
 * The CapabilityStatement of `/fhir` over the copy: the embedded server's types and search parameters
 * (same repository, same search index), with read and search-type only, no system interactions, and
 * the analytics operations the service mounts beside it.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { capabilityStatement } from '../fhir-server/capability.js';

/** software.name of the copy's CapabilityStatement: how a client (the demo) tells it from a FHIR server it may write to. */
export const LOCAL_COPY_SOFTWARE = 'collateral-fhir local copy (read-only)';

/**
 * @param baseUrl - The service's public …/fhir.
 * @param targetName - The target copied (its FHIR_BASE_URL).
 * @returns A CapabilityStatement saying read and search-type only.
 */
export function copyCapabilityStatement(baseUrl: string, targetName: string): CapabilityStatement {
  const full = capabilityStatement(baseUrl);
  const rest = full.rest?.[0];
  const resource = (rest?.resource ?? []).map(
    (r): CapabilityStatementRestResource => ({
      type: r.type,
      profile: r.profile,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      versioning: 'no-version',
      readHistory: false,
      updateCreate: false,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      searchParam: r.searchParam,
    })
  );
  return {
    ...full,
    software: { name: LOCAL_COPY_SOFTWARE },
    implementation: {
      description: `Read-only copy of what collateral-fhir sent to ${targetName}: the last version of each resource, as that server confirmed it`,
      url: baseUrl,
    },
    rest: [
      {
        mode: 'server',
        documentation: `Writes answer 405: this is a read-only copy of what was sent to ${targetName}; write to that server instead.`,
        resource,
        operation: [
          { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
          { name: 'viewdefinition-run', definition: 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-run' },
          { name: 'viewdefinition-export', definition: 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-export' },
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
        ],
      },
    ],
  };
}
