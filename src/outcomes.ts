/**
 * Our phase-tagged outcome constructors on top of @medplum/core's OperationOutcome vocabulary.
 * OperationOutcome literals live here and in test expectations only; everything else throws
 * OperationOutcomeError built from these (src/http/error-handler.ts is the one place they become HTTP answers).
 */
import { OperationOutcomeError, getStatus, isOperationOutcome } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** One problem found in an input: where (a path) and what. */
export interface Problem {
  /** JSON path into the input (`/client/mrn`) or a FHIRPath into a resource (`Encounter.status`). */
  path: string;
  message: string;
  code?: OperationOutcomeIssue['code'];
  severity?: OperationOutcomeIssue['severity'];
}

function outcome(issues: OperationOutcomeIssue[], id?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', ...(id ? { id } : {}), issue: issues };
}

function issue(p: Problem, defaultCode: OperationOutcomeIssue['code']): OperationOutcomeIssue {
  return {
    severity: p.severity ?? 'error',
    code: p.code ?? defaultCode,
    details: { text: p.message },
    ...(p.path ? { expression: [p.path] } : {}),
  };
}

/** An inbound payload that failed its JSON Schema: every problem, each with its JSON path. HTTP 400. */
export function inputInvalid(problems: Problem[]): OperationOutcome {
  return outcome(problems.map((p) => issue(p, 'invalid')), 'input-invalid');
}

/** A mapping file (or case file) that fails its schema at load time. */
export function mappingInvalid(file: string, problems: Problem[]): OperationOutcome {
  return outcome(
    problems.map((p) => issue({ ...p, message: `${file}: ${p.message}` }, 'structure')),
    'mapping-invalid'
  );
}

/** A de-identification policy file (deidentify/*.json) that fails its schema or checks at load time. */
export function deidPolicyInvalid(file: string, problems: Problem[]): OperationOutcome {
  return outcome(
    problems.map((p) => issue({ ...p, message: `${file}: ${p.message}` }, 'structure')),
    'deid-policy-invalid'
  );
}

/** The credential lacks a role the request needs; the message names the role. HTTP 403. */
export function forbiddenRole(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'forbidden', details: { text: message } }], 'forbidden');
}

/** Something named by the request does not exist (a job, a view, a group). HTTP 404. */
export function notFoundBecause(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'not-found', details: { text: message } }], 'not-found');
}

/** Too much work queued already; try again later. HTTP 429. */
export function tooBusy(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'throttled', details: { text: message } }], 'too-busy');
}

/** An export job that failed (the reason in plain words, no PHI). HTTP 500. */
export function exportFailed(reason: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'exception', details: { text: reason } }], 'export-failed');
}

/** A note in an export's error file: something left out, with why (types and counts, never data). */
export function exportNote(severity: OperationOutcomeIssue['severity'], code: OperationOutcomeIssue['code'], text: string): OperationOutcome {
  return outcome([{ severity, code, details: { text } }]);
}

/** A valid input that the mapping could not transform. HTTP 422. */
export function transformFailed(problems: Problem[]): OperationOutcome {
  return outcome(problems.map((p) => issue(p, 'processing')), 'transform-failed');
}

/** An outbound resource that failed FHIR validation. HTTP 422. */
export function outputInvalid(issues: OperationOutcomeIssue[]): OperationOutcome {
  return outcome(issues, 'output-invalid');
}

/** An error answered by an upstream FHIR server (or no answer at all: status 0). HTTP 502/503. */
export function upstreamFailed(status: number, upstream?: OperationOutcome, message?: string): OperationOutcome {
  const text = message ?? `The FHIR server answered HTTP ${status}`;
  const issues: OperationOutcomeIssue[] = [
    {
      severity: 'error',
      code: status === 0 || status >= 500 || status === 429 ? 'transient' : 'processing',
      details: { text },
      diagnostics: `upstream-status:${status}`,
    },
    ...(upstream?.issue ?? []),
  ];
  return outcome(issues, 'upstream-failed');
}

/** Request refused for lack of (valid) credentials. HTTP 401. */
export function unauthenticated(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'login', details: { text: message } }], 'unauthenticated');
}

/** A request body too large to accept. HTTP 413. */
export function tooLarge(limit: string): OperationOutcome {
  return outcome(
    [{ severity: 'error', code: 'too-costly', details: { text: `Request body exceeds the limit of ${limit}` } }],
    'too-large'
  );
}

/** A request body of a media type (or encoding) the route does not read; names the accepted ones. HTTP 415. */
export function unsupportedMediaType(what: string, accepted: readonly string[]): OperationOutcome {
  return outcome(
    [{ severity: 'error', code: 'not-supported', details: { text: `${what} is not supported; send one of: ${accepted.join(', ')}` } }],
    'unsupported-media-type'
  );
}

/** An unexpected error: no message or stack is passed on (they may hold anything). HTTP 500. */
export function internalError(): OperationOutcome {
  return outcome([{ severity: 'error', code: 'exception', details: { text: 'Internal server error' } }], 'internal-error');
}

/**
 * Any thrown value as an OperationOutcome: outcome errors keep their outcome, anything else becomes
 * internalError() (unlike normalizeOperationOutcome, which would answer a bug with a 400 and its message).
 */
export function toOutcome(err: unknown): OperationOutcome {
  if (err instanceof OperationOutcomeError) {
    return err.outcome;
  }
  if (isOperationOutcome(err)) {
    return err;
  }
  return internalError();
}

/** The HTTP status of an outcome: ours first, then @medplum/core's getStatus. The one conversion point. */
export function httpStatusFor(o: OperationOutcome): number {
  switch (o.id) {
    case 'input-invalid':
    case 'mapping-invalid':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'too-large':
      return 413;
    case 'too-busy':
      return 429;
    case 'method-not-allowed':
      return 405;
    case 'not-implemented':
      return 501;
    case 'unsupported-media-type':
      return 415;
    case 'unavailable':
      return 503;
    case 'transform-failed':
    case 'output-invalid':
      return 422;
    case 'internal-error':
    case 'export-failed':
      return 500;
    case 'upstream-failed': {
      const status = Number(/upstream-status:(\d+)/.exec(o.issue?.[0]?.diagnostics ?? '')?.[1] ?? 0);
      if (status === 409 || status === 412) {
        return status;
      }
      return status === 503 || status === 429 || status === 0 ? 503 : 502;
    }
    default:
      return getStatus(o);
  }
}

/** The upstream HTTP status carried by an upstreamFailed outcome (0 = no answer), or undefined. */
export function upstreamStatusOf(o: OperationOutcome): number | undefined {
  if (o.id !== 'upstream-failed') {
    return undefined;
  }
  return Number(/upstream-status:(\d+)/.exec(o.issue?.[0]?.diagnostics ?? '')?.[1] ?? 0);
}

// Access and limits (issue #10). Messages name the problem, never an input value.

/** The credential may not call this route: names the roles that would do. HTTP 403. */
export function accessDenied(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'forbidden', details: { text: message } }], 'forbidden');
}

/** Too many requests (per credential) or failed sign-ins (per address). HTTP 429, with Retry-After. */
export function rateLimited(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'throttled', details: { text: message } }], 'too-many-requests');
}

/** The path exists, not with this method. HTTP 405, with Allow. */
export function methodNotAllowed(allowed: string[]): OperationOutcome {
  return outcome([{ severity: 'error', code: 'not-supported', details: { text: `Method not allowed here; allowed: ${allowed.join(', ')}` } }], 'method-not-allowed');
}

/** An interaction this /fhir refuses by design (the read-only copy of what was sent): says why. HTTP 405, with Allow. */
export function notAllowedBecause(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'not-supported', details: { text: message } }], 'method-not-allowed');
}

/** Something this deployment does not offer at all, and why (e.g. /fhir with a shared PostgreSQL store). HTTP 501. */
export function notImplemented(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'not-supported', details: { text: message } }], 'not-implemented');
}

/** Cannot answer now (a handler ran out of time, an identity provider out of reach). HTTP 503, with Retry-After. */
export function unavailable(message: string): OperationOutcome {
  return outcome([{ severity: 'error', code: 'transient', details: { text: message } }], 'unavailable');
}

/** A request that is malformed as a whole (its path, its body's encoding or shape): what is wrong, never the input. HTTP 400. */
export function badInput(message: string, expression?: string[]): OperationOutcome {
  return outcome([{ severity: 'error', code: 'invalid', details: { text: message }, ...(expression ? { expression } : {}) }], 'input-invalid');
}

/** Throws an OperationOutcomeError for the given outcome. */
export function fail(o: OperationOutcome, cause?: unknown): never {
  throw new OperationOutcomeError(o, cause);
}

export { OperationOutcomeError, isOperationOutcome };
