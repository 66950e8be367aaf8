/**
 * PHI masking for callers who may not see identified data (access.ts: `operator` and the like).
 * Applied to API answers on the server, in two passes:
 * 1. by structure: the fields of a source record or a FHIR resource that carry names, contact details,
 *    free text or the MRN are replaced by MASK;
 * 2. by value: every string anywhere in the answer has the PHI values of the records involved (the
 *    MRN, name parts, contact values, note text...) replaced, so a reason such as "no Patient with MRN
 *    X on the target" or a target's OperationOutcome quoting a name is masked too.
 * A client's MRN becomes a pseudonym (`client-1a2b3c4d`, a keyed hash with a key made at start), so an
 * operator can still tell one client's rows from another's without learning who it is.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AnyRecord, RecordKind } from '../domain/records.js';

export const MASK = '•••';

/** Keys whose values are PHI wherever they appear in a FHIR resource. */
const FHIR_PHI_KEYS = new Set(['name', 'telecom', 'address', 'photo', 'birthDate', 'contact', 'display', 'description', 'note', 'data', 'div']);

/** Paths (dot-separated, arrays transparent) of PHI fields in each kind of source record. */
const RECORD_PHI_FIELDS: Record<RecordKind, string[]> = {
  participant: ['name', 'telecom', 'organization', 'client.mrn'],
  consent: ['client.mrn', 'form.data', 'form.title', 'revocation.reason'],
  session: ['client.mrn', 'exception.reason'],
  note: ['text'],
};

/** Values shorter than this are not searched for in text (too likely to match innocently). */
const MIN_VALUE = 3;

const key = randomBytes(32);

/** A stable pseudonym for a client's MRN, unlinkable to it without this process's key. */
export function clientPseudonym(mrn: string | null | undefined): string | null {
  return mrn ? `client-${createHmac('sha256', key).update(mrn).digest('hex').slice(0, 8)}` : null;
}

/** The PHI values of source records (and any extra ones, an MRN from a row), longest first. */
export function phiValues(records: { kind: RecordKind; body: AnyRecord }[], extra: (string | null | undefined)[] = []): string[] {
  const out = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string' && v.trim().length >= MIN_VALUE) {
      out.add(v.trim());
    } else if (Array.isArray(v)) {
      v.forEach(add);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(add);
    }
  };
  for (const r of records) {
    for (const path of RECORD_PHI_FIELDS[r.kind]) {
      add(get(r.body, path));
    }
  }
  extra.forEach(add);
  return [...out].sort((a, b) => b.length - a.length);
}

/** A source record with its PHI fields masked. */
export function maskRecord<T extends AnyRecord>(kind: RecordKind, body: T): T {
  const copy = structuredClone(body) as unknown as Record<string, unknown>;
  for (const path of RECORD_PHI_FIELDS[kind]) {
    set(copy, path);
  }
  return copy as unknown as T;
}

/** A FHIR resource (or any FHIR JSON) with PHI-bearing elements masked, wherever they are. */
export function maskResource<T>(resource: T): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      return v.map(walk);
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, FHIR_PHI_KEYS.has(k) ? MASK : walk(x)]));
    }
    return v;
  };
  return walk(resource) as T;
}

/** Replaces every occurrence of the given values in every string of a JSON value. */
export function scrub<T>(value: T, values: readonly string[]): T {
  if (values.length === 0) {
    return value;
  }
  const text = (s: string): string => values.reduce((acc, v) => (acc.includes(v) ? acc.split(v).join(MASK) : acc), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return text(v);
    }
    if (Array.isArray(v)) {
      return v.map(walk);
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** True when a JSON pointer (a diff's path) goes through a PHI-bearing FHIR element. */
export function isPhiPath(pointer: string): boolean {
  return pointer.split('/').some((seg) => FHIR_PHI_KEYS.has(seg));
}

function get(obj: unknown, path: string): unknown {
  const parts = path.split('.');
  let cur: unknown[] = [obj];
  for (const p of parts) {
    cur = cur.flatMap((c) => (Array.isArray(c) ? c : [c])).flatMap((c) => (c && typeof c === 'object' && p in c ? [(c as Record<string, unknown>)[p]] : []));
  }
  return cur;
}

function set(obj: Record<string, unknown>, path: string): void {
  const [head, ...rest] = path.split('.');
  const targets = Array.isArray(obj) ? obj : [obj];
  for (const t of targets as Record<string, unknown>[]) {
    if (!t || typeof t !== 'object' || !(head in t) || t[head] === null || t[head] === undefined) {
      continue;
    }
    if (rest.length === 0) {
      t[head] = MASK;
    } else {
      set(t[head] as Record<string, unknown>, rest.join('.'));
    }
  }
}
