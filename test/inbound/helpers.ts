/** Shared test helpers: the contract examples and a way to read the problems of a rejection. */
import { OperationOutcomeError } from '../../src/outcomes.js';

export interface SeenProblem {
  path: string;
  message: string;
}

/** Runs `run`, expects an input-invalid OperationOutcomeError, and returns its problems. */
export function problemsOf(run: () => unknown): SeenProblem[] {
  try {
    run();
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      throw err;
    }
    expect(err.outcome.id).toBe('input-invalid');
    return (err.outcome.issue ?? []).map((i) => ({ path: i.expression?.[0] ?? '', message: i.details?.text ?? '' }));
  }
  throw new Error('expected the input to be rejected');
}

/** The paths of the problems of a rejection, sorted. */
export function pathsOf(run: () => unknown): string[] {
  return problemsOf(run)
    .map((p) => p.path)
    .sort();
}

/** A deep copy to mutate in a test. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}

// The four examples of the v1 contract (docs/contract.md), verbatim.

export {
  participantExample,
  consentExample,
  consentExampleWithForm,
  sessionExample,
  noteExample,
} from '../helpers/product-examples.js';
