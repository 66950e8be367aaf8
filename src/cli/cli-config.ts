/**
 * The deployment settings the workbench commands share with the service: the environment (as the
 * service reads it, src/config.ts) with command-line overrides.
 */
import { loadConfig, type Config } from '../config.js';
import type { MappingConfig } from '../mapping/index.js';
import { EMBEDDED_TARGET } from '../service.js';

/** The service's config from the environment; a bad variable is reported like at service start. */
export function serviceConfig(env: Record<string, string | undefined>): Config {
  return loadConfig(env);
}

/** What a mapping reads, from the service config. */
export function mappingConfigOf(config: Config): MappingConfig {
  return {
    ns: config.identifierNamespace,
    mrnSystem: config.mrnSystem,
    includeNonFamilyContactDetails: config.includeNonFamilyContactDetails,
  };
}

/** The sync target's name in the store: the external base URL, or the embedded server. */
export function targetNameOf(config: Config): string {
  return config.fhirBaseUrl ?? EMBEDDED_TARGET;
}
