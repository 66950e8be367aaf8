/**
 * Reading the console routes' query parameters: each one checked, every problem reported at once
 * (one 400 OperationOutcome naming each parameter), never a value echoed back.
 */
import type { Request } from 'express';
import { isRecordKind, type RecordKind } from '../domain/records.js';
import { inputInvalid, OperationOutcomeError, type Problem } from '../outcomes.js';
import type { SyncStateName } from '../store/port.js';

export const SYNC_STATES: readonly SyncStateName[] = ['pending', 'synced', 'held', 'failed', 'blocked', 'dead-letter', 'not-writable'];
/** Target names, reason codes: the characters the delivery filters accept (routes/dead-letters.ts). */
const TOKEN = /^[A-Za-z0-9._:/|-]{1,200}$/;
/** The contract's MRN characters (schemas/inbound/common.schema.json). */
const MRN = /^[A-Za-z0-9._:/-]{1,64}$/;
const ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Collects problems while reading parameters; `done()` throws them all at once. */
export class ParamReader {
  readonly problems: Problem[] = [];

  constructor(private readonly src: Record<string, unknown>) {}

  private raw(name: string): string | undefined {
    const v = this.src[name];
    if (v === undefined || v === '') {
      return undefined;
    }
    if (typeof v !== 'string') {
      this.problems.push({ path: name, message: 'must be given once, as text' });
      return undefined;
    }
    return v;
  }

  token(name: string): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && !TOKEN.test(v)) {
      this.problems.push({ path: name, message: 'must be 1-200 characters of A-Za-z0-9._:/|-' });
      return undefined;
    }
    return v;
  }

  kind(name = 'kind'): RecordKind | undefined {
    const v = this.raw(name);
    if (v !== undefined && !isRecordKind(v)) {
      this.problems.push({ path: name, message: 'must be participant, consent, session or note' });
      return undefined;
    }
    return v as RecordKind | undefined;
  }

  state(name = 'state'): SyncStateName | undefined {
    const v = this.raw(name);
    if (v !== undefined && !(SYNC_STATES as readonly string[]).includes(v)) {
      this.problems.push({ path: name, message: `must be one of ${SYNC_STATES.join(', ')}` });
      return undefined;
    }
    return v as SyncStateName | undefined;
  }

  /** An ISO 8601 instant or date; returned normalised to an ISO instant (UTC). */
  instant(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) {
      return undefined;
    }
    const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) {
      this.problems.push({ path: name, message: 'must be a date (2026-02-01) or an ISO 8601 date-time (2026-02-01T16:00:00Z)' });
      return undefined;
    }
    return new Date(ms).toISOString();
  }

  int(name: string, dflt: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) {
      return dflt;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push({ path: name, message: `must be a whole number from ${min} to ${max}` });
      return dflt;
    }
    return n;
  }

  bool(name: string): boolean {
    const v = this.raw(name);
    if (v === undefined) {
      return false;
    }
    if (v !== 'true' && v !== 'false') {
      this.problems.push({ path: name, message: 'must be true or false' });
    }
    return v === 'true';
  }

  string(name: string, max = 1000): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && v.length > max) {
      this.problems.push({ path: name, message: `must be at most ${max} characters` });
      return undefined;
    }
    return v;
  }

  /** Throws every problem found so far as one 400. */
  done(): void {
    if (this.problems.length > 0) {
      throw new OperationOutcomeError(inputInvalid(this.problems));
    }
  }
}

/** The query string of a request. */
export function queryOf(req: Request): ParamReader {
  return new ParamReader(req.query as Record<string, unknown>);
}

/** The client filter, from the `X-Client-MRN` header: an MRN is PHI and never goes in a URL. */
export function clientHeader(req: Request, reader: ParamReader, required = false): string | undefined {
  const v = req.get('x-client-mrn');
  if (v === undefined || v === '') {
    if (required) {
      reader.problems.push({ path: 'X-Client-MRN', message: 'the header is required: the client\'s MRN (sent in a header, never in the URL)' });
    }
    return undefined;
  }
  if (!MRN.test(v)) {
    reader.problems.push({ path: 'X-Client-MRN', message: 'must be 1-64 characters of A-Za-z0-9._:/-' });
    return undefined;
  }
  return v;
}

/** A record key from route parameters, or 400 naming what is wrong. */
export function recordKeyOf(params: Record<string, unknown>): { kind: RecordKind; id: string } {
  const reader = new ParamReader(params);
  const kind = reader.kind('kind');
  const id = params.id;
  if (typeof id !== 'string' || !ID.test(id)) {
    reader.problems.push({ path: 'id', message: 'must be 1-64 characters of A-Za-z0-9._-' });
  }
  reader.done();
  return { kind: kind as RecordKind, id: id as string };
}
