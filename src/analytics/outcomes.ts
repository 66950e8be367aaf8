/**
 * The analytics outcomes, built on @medplum/core's (their ids carry the HTTP status through
 * getStatus: business-rule 422, not-found 404, forbidden 403) and on our src/outcomes.ts Problem.
 */
import { badRequest, businessRule, forbidden, notFound } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Problem } from '../outcomes.js';

function issues(problems: Problem[], code: OperationOutcomeIssue['code']): OperationOutcomeIssue[] {
  return problems.map((p) => ({
    severity: p.severity ?? 'error',
    code: p.code ?? code,
    details: { text: p.message },
    ...(p.path ? { expression: [p.path] } : {}),
  }));
}

/** A ViewDefinition that fails validation: every problem, each with its JSON pointer into the view. HTTP 422. */
export function viewInvalid(problems: Problem[]): OperationOutcome {
  return { ...businessRule('view-invalid', 'invalid view'), issue: issues(problems, 'invalid') };
}

/** A valid view that cannot be evaluated over the data (a column with several values, a non-boolean where). HTTP 422. */
export function viewEvaluationFailed(problem: Problem): OperationOutcome {
  return { ...businessRule('view-evaluation-failed', problem.message), issue: issues([problem], 'processing') };
}

/** A parameter or value this server does not support. HTTP 400, code not-supported. */
export function notSupported(problems: Problem[]): OperationOutcome {
  return { ...badRequest('not supported'), issue: issues(problems, 'not-supported') };
}

/** Bad operation parameters (missing, repeated, wrong type). HTTP 400. */
export function parametersInvalid(problems: Problem[]): OperationOutcome {
  return { ...badRequest('invalid parameters'), issue: issues(problems, 'invalid') };
}

/** Something named that does not exist (an unknown viewReference). HTTP 404. */
export function notFoundWith(message: string, path?: string): OperationOutcome {
  return { ...notFound, issue: issues([{ path: path ?? '', message }], 'not-found') };
}

/** Refused for the caller's role. HTTP 403. */
export function forbiddenWith(message: string, path?: string): OperationOutcome {
  return { ...forbidden, issue: issues([{ path: path ?? '', message }], 'forbidden') };
}

/** View files (views/*.json) that fail their checks at start-up: every problem, prefixed with its file. */
export function viewFilesInvalid(failures: { file: string; problems: Problem[] }[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: 'view-files-invalid',
    issue: failures.flatMap((f) => issues(f.problems.map((p) => ({ ...p, message: `${f.file}: ${p.message}` })), 'structure')),
  };
}
