/**
 * Decisions over the route table (route-table.ts): which entry a request is, whether a principal may
 * call it, and whether what it sees is masked. Pure: the middleware (http/middleware/route-guard.ts)
 * and the tests use the same functions.
 */
import { type AnyRole, type Principal } from './principal.js';
import { compilePattern, type CompiledPattern } from './route-pattern.js';
import { ROUTE_TABLE, type HttpMethod, type RouteRule } from './route-table.js';

export interface CompiledRule extends RouteRule {
  pattern: CompiledPattern;
  /** `GET /api/v1/{collection}/{id}`: what the access log and the audit name the route by. */
  label: string;
}

export type RouteLookup =
  | { kind: 'match'; rule: CompiledRule; params: Record<string, string> }
  /** The path is known, not with this method. */
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'unknown' };

export type AccessDecision = { allowed: true; masked: boolean } | { allowed: false; required: readonly AnyRole[] };

/** The compiled route table. */
export class RouteAccess {
  readonly rules: readonly CompiledRule[];

  constructor(table: readonly RouteRule[] = ROUTE_TABLE) {
    this.rules = table.map((r) => {
      const pattern = compilePattern(r.path);
      return { ...r, pattern, label: `${r.methods.join('|')} ${pattern.display}` };
    });
  }

  /**
   * The first entry matching the method and the decoded path segments. HEAD is GET, as express routes it.
   */
  lookup(method: string, segments: readonly string[]): RouteLookup {
    const m = (method === 'HEAD' ? 'GET' : method) as HttpMethod;
    const allowed = new Set<HttpMethod>();
    for (const rule of this.rules) {
      const params = rule.pattern.match(segments);
      if (!params) {
        continue;
      }
      if (rule.methods.includes(m)) {
        return { kind: 'match', rule, params };
      }
      rule.methods.forEach((x) => allowed.add(x));
    }
    return allowed.size > 0 ? { kind: 'method-not-allowed', allowed: [...allowed] } : { kind: 'unknown' };
  }
}

/**
 * May this principal call this route? `admin` may call every non-public route; a public route needs no
 * principal. When refused, `required` lists the roles that would do.
 */
export function decide(rule: RouteRule, principal: Principal | undefined): AccessDecision {
  if (rule.allow === 'public') {
    return { allowed: true, masked: false };
  }
  if (!principal) {
    return { allowed: false, required: rule.allow === 'authenticated' ? [] : rule.allow };
  }
  if (rule.allow === 'authenticated' || principal.roles.includes('admin')) {
    return { allowed: true, masked: false };
  }
  const granting = principal.roles.filter((r) => (rule.allow as readonly AnyRole[]).includes(r));
  if (granting.length === 0) {
    return { allowed: false, required: rule.allow };
  }
  const masked = !!rule.maskFor && granting.every((r) => rule.maskFor?.includes(r));
  return { allowed: true, masked };
}

/** The roles a rule admits, for people: `operator, admin`. */
export function rolesText(rule: RouteRule): string {
  if (rule.allow === 'public') {
    return 'public';
  }
  if (rule.allow === 'authenticated') {
    return 'any credential';
  }
  return [...new Set([...rule.allow, 'admin'])].join(', ');
}

/** The route table as a Markdown table (docs/security.md shows exactly this; a test checks it). */
export function renderRouteTable(access: RouteAccess = new RouteAccess()): string {
  const rows = access.rules.map((r) => {
    const audit = r.audit ? `${r.audit.interaction}` : '';
    const mask = r.maskFor ? ` (MRNs masked for ${r.maskFor.join(', ')})` : '';
    const what = `${r.what}${r.longRunning ? '; no handler timeout' : ''}`;
    // A | inside a table cell must be escaped, even in a code span (GitHub's table syntax).
    const cell = (t: string): string => t.replace(/\|/g, '\\|');
    return `| ${r.methods.join(', ')} | \`${cell(r.pattern.detailed)}\` | ${rolesText(r)}${mask} | ${audit} | ${cell(what)} |`;
  });
  return ['| Method | Path | Roles | Audited as | What |', '|---|---|---|---|---|', ...rows].join('\n');
}
