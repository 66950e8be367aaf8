/**
 * Policies for tests: written to a temp folder as real policy files and loaded through loadDeidPolicy,
 * so every test goes through the same schema and checks as the shipped policy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDeidPolicy, type DeidPolicy, type DeidPolicyFile } from '../../src/deid/index.js';
import { tempDir } from '../helpers/tmp.js';

export const KEY = 'test-deid-key-0123456789abcdef0123456789';
export const OTHER_KEY = 'another-deid-key-abcdef0123456789abcdef';

/** Loads a policy definition (id defaults to "test") from a real file. */
export function policyFrom(def: Partial<DeidPolicyFile> & Pick<DeidPolicyFile, 'fhirPathRules'>): DeidPolicy {
  const tmp = tempDir('deid-policy-');
  try {
    const full = { id: 'test', resourceTypes: ['Patient', 'RelatedPerson', 'Encounter', 'Observation', 'Consent'], ...def };
    const file = join(tmp.dir, `${full.id}.json`);
    writeFileSync(file, JSON.stringify(full));
    return loadDeidPolicy(file);
  } finally {
    tmp.cleanup();
  }
}

/** The problems (expression and text) of an OperationOutcomeError thrown by fn. */
export function problemsOf(fn: () => unknown): { expression?: string; text: string }[] {
  try {
    fn();
  } catch (err) {
    const outcome = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome;
    if (!outcome) {
      throw err;
    }
    return (outcome.issue ?? []).map((i) => ({ expression: i.expression?.[0], text: i.details?.text ?? '' }));
  }
  throw new Error('expected an error');
}
