/**
 * The embedded server's CapabilityStatement (GET /fhir/metadata). The per-type part is derived from the
 * loaded R4 definitions once and cached: ~150 types with their search parameters never change at runtime.
 */
import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { isSupportedSearchParamType } from './search.js';

const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'create',
  'search-type',
] as const;

const STARTED = new Date().toISOString();

let cachedResources: CapabilityStatementRestResource[] | undefined;

/**
 * The CapabilityStatement of the embedded server.
 * @param baseUrl - The server's public base URL (…/fhir), reported as implementation.url.
 * @returns A FHIR R4 CapabilityStatement (kind instance, JSON only).
 */
export function capabilityStatement(baseUrl: string): CapabilityStatement {
  cachedResources ??= buildResources();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STARTED,
    publisher: 'collateral-fhir',
    kind: 'instance',
    software: { name: 'collateral-fhir embedded FHIR server' },
    implementation: { description: 'collateral-fhir embedded FHIR R4 server (SQLite)', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource: cachedResources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
        // $validate checks against our profile pack (validate-operation.ts), at the system and type level.
        operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
      },
    ],
  };
}

function buildResources(): CapabilityStatementRestResource[] {
  loadFhirDefinitions();
  return getResourceTypes()
    .sort()
    .map(
      (type): CapabilityStatementRestResource => ({
        type,
        profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
        interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
        versioning: 'versioned',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
        searchParam: searchParams(type),
      })
    );
}

/** Only the parameter types medplum's matcher evaluates; the others would silently match nothing. */
function searchParams(type: string): CapabilityStatementRestResourceSearchParam[] {
  return Object.entries(getSearchParameters(type) ?? {})
    .filter(([, param]) => isSupportedSearchParamType(param.type))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, param]) => ({
      name,
      type: param.type,
      ...(param.url ? { definition: param.url } : {}),
    }));
}
