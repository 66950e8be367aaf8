/**
 * Masks client MRNs in the JSON answers of routes the table marks `maskFor` (the delivery lists), for a
 * caller whose only role granting the route is a masked one (`operator`): every `clientMrn` or `mrn`
 * field becomes `***` plus its last two characters, and every occurrence of those MRNs inside other
 * strings (a hold reason such as "no Patient with MRN ... on the target") is masked the same way.
 * Enough to tell two clients apart in a list, not to identify one.
 */
import type { NextFunction, Request, Response } from 'express';

const MRN_KEYS = new Set(['clientMrn', 'mrn']);

/** `MRN-1001` -> `***01`. */
export function maskMrn(mrn: string): string {
  return `***${mrn.length > 4 ? mrn.slice(-2) : ''}`;
}

function collect(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    value.forEach((v) => collect(v, into));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (MRN_KEYS.has(k) && typeof v === 'string' && v !== '') {
        into.add(v);
      } else {
        collect(v, into);
      }
    }
  }
}

function mask(value: unknown, mrns: string[]): unknown {
  if (typeof value === 'string') {
    return mrns.reduce((s, m) => (s.includes(m) ? s.split(m).join(maskMrn(m)) : s), value);
  }
  if (Array.isArray(value)) {
    return value.map((v) => mask(v, mrns));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, MRN_KEYS.has(k) && typeof v === 'string' ? maskMrn(v) : mask(v, mrns)]));
  }
  return value;
}

/** Masks MRNs in a JSON answer (exported for tests and for routes that stream their own answers). */
export function maskPhi(body: unknown): unknown {
  const mrns = new Set<string>();
  collect(body, mrns);
  // Longest first, so an MRN that contains another is masked whole.
  return mask(body, [...mrns].sort((a, b) => b.length - a.length));
}

/** Wraps res.json when the route guard decided this caller sees masked answers. */
export function phiMask(_req: Request, res: Response, next: NextFunction): void {
  if (res.locals.maskPhi) {
    const json = res.json.bind(res);
    res.json = (body: unknown) => json(maskPhi(body));
  }
  next();
}
