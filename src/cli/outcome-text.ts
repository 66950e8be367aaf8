/**
 * An error as terminal lines: an OperationOutcome's issues, each with its path, or a plain message.
 */
import { OperationOutcomeError } from '../outcomes.js';

export function outcomeLines(err: unknown): string[] {
  if (err instanceof OperationOutcomeError) {
    return (err.outcome.issue ?? []).map((i) => `  ${i.expression?.[0] || '/'}: ${i.details?.text ?? i.code}`);
  }
  return [`  ${err instanceof Error ? err.message : String(err)}`];
}
