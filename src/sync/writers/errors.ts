/**
 * Delivery outcomes that are not plain target errors: handled by the worker with their own states.
 */
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';

/** The target cannot write (or update) this resource type: the record stays local as "not-writable". */
export class NotWritableError extends Error {
  constructor(
    readonly resourceType: string,
    readonly text: string
  ) {
    super(text);
    this.name = 'NotWritableError';
  }
}

/**
 * More than one resource on the target carries our identifier: someone (or something) created a
 * duplicate there. No retry can choose between them; parked for a human to merge, then replay.
 */
export class DuplicateOnTargetError extends OperationOutcomeError {
  constructor(resourceType: string, count: number) {
    super(
      upstreamFailed(409, undefined, `${count} ${resourceType} resources on the target carry our identifier; merge them there, then replay`)
    );
    this.name = 'DuplicateOnTargetError';
  }
}

/**
 * A create whose earlier outcome is unknown, on a target where we cannot find out (no search that could
 * find the resource). Creating again could duplicate it: parked for a human to check, then replay.
 */
export class UnresolvableOutcomeError extends OperationOutcomeError {
  constructor(resourceType: string) {
    super(
      upstreamFailed(
        409,
        undefined,
        `an earlier create of this ${resourceType} may have been applied, and the target offers no search to find out; check the target, then replay`
      )
    );
    this.name = 'UnresolvableOutcomeError';
  }
}
