/**
 * Chooses how to write to a target from its CapabilityStatement: one transaction bundle where
 * supported (all-or-nothing, conditional entries), else batch bundles per dependency level, else
 * sequential requests. SYNC_WRITE_MODE can force a mode the target also supports.
 */
import type { TargetCapabilities } from '../../fhir/capabilities.js';

export type WriteMode = 'transaction' | 'batch' | 'sequential';

/**
 * The write mode for a target.
 * @param forced - a configured mode; ignored (with the automatic choice) when the target lacks it.
 */
export function chooseWriteMode(caps: TargetCapabilities, forced?: WriteMode): WriteMode {
  if (forced === 'sequential' || (forced === 'batch' && caps.batch) || (forced === 'transaction' && caps.transaction)) {
    return forced;
  }
  return caps.transaction ? 'transaction' : caps.batch ? 'batch' : 'sequential';
}

export { writeOrdered, dependencyLevels } from './ordered.js';
export { sendTransaction } from './transaction.js';
export { NotWritableError, DuplicateOnTargetError, UnresolvableOutcomeError } from './errors.js';
