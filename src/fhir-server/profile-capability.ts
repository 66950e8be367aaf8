/**
 * Publishes a restricted profile in /metadata: the CapabilityStatement lists exactly what the HTTP layer
 * accepts (profile-rules.ts), so a client can plan its writes from the statement alone, as it must with
 * a real EHR.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { RestrictedProfile } from './target-profiles.js';

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
