/**
 * The one enforcement point of the route table (auth/route-table.ts), in two steps around
 * authentication:
 * - resolveRoute (before): decodes the path (malformed percent-encoding or a dot segment is a 400 for
 *   every route alike) and finds the table entry; the access log and the audit name the route by it.
 * - authorize (after): a path in no entry is 404 and a known path with another method 405 (deny by
 *   default: a route without an entry is unreachable); a principal without a role the entry admits
 *   gets 403 naming the roles that would do. It also hands the FHIR layer a check for the entries of
 *   batch and transaction Bundles, which are judged against the same table one by one.
 */
import type { NextFunction, Request, Response } from 'express';
import { notFound } from '@medplum/core';
import { decide, rolesText, type CompiledRule, type RouteAccess } from '../../auth/route-access.js';
import { decodeSegments } from '../../auth/route-pattern.js';
import { INTERNAL_ROLES, principalOf, type Principal } from '../../auth/principal.js';
import { elapsedMs } from './request-context.js';
import { accessDenied, badInput, methodNotAllowed, OperationOutcomeError } from '../../outcomes.js';

/** What resolveRoute leaves on res.locals.route. */
export interface ResolvedRoute {
  /** The entry, when one matches method and path. */
  rule?: CompiledRule;
  params: Record<string, string>;
  /** For logs: the entry's label, or `unlisted`. */
  label: string;
  /** Known path, other method: the methods it has. */
  allowed?: string[];
}

/** A Bundle entry the caller may not run: its index and why. */
export interface BundleEntryDenial {
  index: number;
  message: string;
}

/** Set on res.locals.checkBundleEntries for the FHIR layer. */
export type BundleEntryCheck = (entries: { method: string; url: string }[]) => BundleEntryDenial[];

export function resolveRoute(access: RouteAccess) {
  return (req: Request, res: Response, next: NextFunction): void => {
    let segments: string[];
    try {
      segments = decodeSegments(req.path);
    } catch {
      res.locals.route = { params: {}, label: 'malformed-path' } satisfies ResolvedRoute;
      next(new OperationOutcomeError(badInput('The request path contains malformed percent-encoding (each % must start a valid UTF-8 escape)')));
      return;
    }
    if (segments.some((s) => s === '.' || s === '..')) {
      res.locals.route = { params: {}, label: 'malformed-path' } satisfies ResolvedRoute;
      next(new OperationOutcomeError(badInput('The request path must not contain "." or ".." segments')));
      return;
    }
    const found = access.lookup(req.method, segments);
    const route: ResolvedRoute =
      found.kind === 'match'
        ? { rule: found.rule, params: found.params, label: found.rule.label }
        : { params: {}, label: 'unlisted', ...(found.kind === 'method-not-allowed' ? { allowed: found.allowed } : {}) };
    res.locals.route = route;
    next();
  };
}

/** True when the resolved route needs no credential. */
export function isPublicRoute(res: Response): boolean {
  return (res.locals.route as ResolvedRoute | undefined)?.rule?.allow === 'public';
}

export function authorize(access: RouteAccess) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const route = res.locals.route as ResolvedRoute;
    if (!route.rule) {
      if (route.allowed) {
        res.setHeader('Allow', route.allowed.join(', '));
        next(new OperationOutcomeError(methodNotAllowed(route.allowed)));
      } else {
        next(new OperationOutcomeError(notFound));
      }
      return;
    }
    const principal = principalOf(res.locals);
    const decision = decide(route.rule, principal);
    if (!decision.allowed) {
      next(new OperationOutcomeError(accessDenied(deniedText(route.rule, principal))));
      return;
    }
    res.locals.maskPhi = decision.masked;
    if (typeof res.locals.startedAt === 'bigint') {
      res.locals.authorizedMs = elapsedMs(res.locals.startedAt);
    }
    if (principal && !principal.roles.includes('admin')) {
      res.locals.checkBundleEntries = bundleEntryCheck(access, principal);
    }
    next();
  };
}

function deniedText(rule: CompiledRule, principal: Principal | undefined): string {
  const has = principal && principal.roles.length > 0 ? principal.roles.join(', ') : 'no role';
  // The internal role is the service's own; naming it to a caller would only confuse.
  const needed = rolesText(rule)
    .split(', ')
    .filter((r) => !(INTERNAL_ROLES as readonly string[]).includes(r))
    .join(', ')
    .replace(/, (?=[^,]*$)/, ' or ');
  return `This needs the role ${needed}; the credential "${principal?.name ?? ''}" has ${has}`;
}

/**
 * Judges each entry of a batch or transaction as the request it stands for (`PUT Patient/1` is
 * `PUT /fhir/Patient/1`). Absolute URLs and undecodable paths are refused.
 */
export function bundleEntryCheck(access: RouteAccess, principal: Principal): BundleEntryCheck {
  return (entries) => {
    const denials: BundleEntryDenial[] = [];
    entries.forEach((e, index) => {
      const path = e.url.split('?')[0].replace(/^\/+/, '');
      let segments: string[];
      try {
        if (/^[a-z][a-z0-9+.-]*:/i.test(e.url)) {
          throw new URIError('absolute');
        }
        segments = ['fhir', ...decodeSegments(`/${path}`)];
      } catch {
        denials.push({ index, message: 'request.url must be a relative FHIR URL such as Patient/123' });
        return;
      }
      const found = access.lookup(e.method.toUpperCase(), segments);
      if (found.kind !== 'match') {
        denials.push({ index, message: `${e.method.toUpperCase()} of this URL is not a route of this server` });
        return;
      }
      const decision = decide(found.rule, principal);
      if (!decision.allowed) {
        denials.push({ index, message: deniedText(found.rule, principal) });
      }
    });
    return denials;
  };
}
