/**
 * Publishes a profile in /metadata: for a restricted profile the CapabilityStatement lists exactly what
 * the HTTP layer accepts (profile-rules.ts), so a client can plan its writes from the statement alone, as
 * it must with a real EHR; for `medplum-like`, what Medplum's own statement says.
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestSecurity,
} from '@medplum/fhirtypes';
import type { MedplumLikeProfile, RestrictedProfile } from './target-profiles.js';

/**
 * Narrows the full CapabilityStatement to a profile.
 * @param full - The embedded server's statement (every type and interaction).
 * @param profile - The restricted profile.
 * @returns A new statement: only the profile's types, interactions and search parameters, no
 *   conditional operations, no update-as-create, no operations, and only its system interactions.
 */
export function restrictCapability(full: CapabilityStatement, profile: RestrictedProfile): CapabilityStatement {
  const rest = full.rest?.[0];
  const resources = (rest?.resource ?? [])
    .filter((r) => Object.hasOwn(profile.types, r.type))
    .map((r) => restrictResource(r, profile));
  return {
    ...full,
    name: `collateral_fhir_${profile.name.replace(/-/g, '_')}`,
    title: `collateral-fhir embedded FHIR server, ${profile.name} profile`,
    description: profile.description,
    software: { ...full.software, name: `${full.software?.name ?? 'collateral-fhir'} (${profile.name} profile)` },
    rest: [
      {
        mode: 'server',
        resource: resources,
        ...(profile.system.length > 0 ? { interaction: profile.system.map((code) => ({ code })) } : {}),
      },
    ],
  };
}

function restrictResource(r: CapabilityStatementRestResource, profile: RestrictedProfile): CapabilityStatementRestResource {
  const rules = profile.types[r.type];
  const searchable = rules.interactions.includes('search-type');
  const only = rules.searchParams;
  return {
    type: r.type,
    profile: r.profile,
    interaction: rules.interactions.map((code) => ({ code })),
    versioning: r.versioning,
    readHistory: rules.interactions.includes('vread'),
    updateCreate: false,
    conditionalCreate: profile.conditional,
    conditionalRead: 'not-supported',
    conditionalUpdate: profile.conditional,
    conditionalDelete: 'not-supported',
    ...(searchable ? { searchParam: (r.searchParam ?? []).filter((p) => !only || only.includes(p.name)) } : {}),
  };
}

/**
 * The statement of the `medplum-like` profile: what a Medplum 4.5 server publishes
 * (packages/server/src/fhir/metadata.ts). Every type with read, vread, update, patch, delete,
 * history-instance, create and search-type; conditional create and update, conditional delete `single`,
 * no update-as-create; `transaction` and `batch` at system level, whether or not transactions are atomic
 * (the statement cannot tell, which is the point); and, when the server has a token endpoint, the SMART
 * security block with its URL.
 * @param full - The embedded server's statement.
 * @param profile - The medplum-like profile.
 * @param tokenUrl - The token endpoint, when OAuth is on.
 * @returns A new statement.
 */
export function medplumCapability(full: CapabilityStatement, profile: MedplumLikeProfile, tokenUrl?: string): CapabilityStatement {
  const rest = full.rest?.[0];
  return {
    ...full,
    name: 'collateral_fhir_medplum_like',
    title: 'collateral-fhir embedded FHIR server, medplum-like profile',
    description: profile.description,
    software: { ...full.software, name: `${full.software?.name ?? 'collateral-fhir'} (medplum-like profile)` },
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        ...(tokenUrl ? { security: smartSecurity(tokenUrl) } : {}),
        resource: (rest?.resource ?? []).map((r) => ({
          type: r.type,
          profile: r.profile,
          interaction: r.interaction,
          versioning: 'versioned',
          readHistory: true,
          updateCreate: false,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalRead: 'not-supported',
          conditionalDelete: 'single',
          referencePolicy: ['literal', 'logical', 'local'],
          searchParam: r.searchParam,
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

function smartSecurity(tokenUrl: string): CapabilityStatementRestSecurity {
  return {
    service: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: tokenUrl }],
      },
    ],
  };
}
