/**
 * De-identification as data: policies in deidentify/*.json (FHIRPath -> method rules in the style of
 * Microsoft's FHIR anonymization tool), applied by one walk per resource. See docs/deidentification.md.
 *
 * ```ts
 * const deidentify = createDeidentifier(loadDeidPolicy(), deidKey);
 * const safe = deidentify(resource); // undefined: leave it out
 * ```
 */
export { createDeidentifier, governingRule } from './engine.js';
export { DEFAULT_POLICY_DIR, DEFAULT_POLICY_ID, loadDeidPolicies, loadDeidPolicy } from './load.js';
export { DEID_KEY_FILE, resolveDeidKey, type ResolvedDeidKey } from './key.js';
export { createPseudonymizer, type Pseudonymizer } from './pseudonyms.js';
export type { CompiledRule } from './selector.js';
export type { Deidentifier, DeidentifierOptions, DeidMethod, DeidPolicy, DeidPolicyFile, DeidRule } from './types.js';
