/**
 * The real service with one named key per role (API_KEYS_FILE), and a way to call it as any of them.
 */
import { join } from 'node:path';
import { addKey } from '../../src/auth/keys-file.js';
import { ROLES, type Role } from '../../src/auth/principal.js';
import { records } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

export interface CallResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface SecuredService {
  svc: TestService;
  keysFile: string;
  /** The token of the key named after each role (`source`, `operator`...). */
  tokens: Record<Role, string>;
  /** Tokens of the extra keys asked for, by name. */
  extraTokens: Record<string, string>;
  /** Calls the service with a role's token, a token given as `token:<value>`, or none (`anonymous`). */
  call(as: Role | 'anonymous' | `token:${string}`, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<CallResult>;
  close(): Promise<void>;
}

/** PUTs the example participant, consent and session as the `source` role; each must be accepted (201). */
export async function putExampleSession(s: SecuredService): Promise<void> {
  for (const [collection, rec] of [
    ['participants', records.participant],
    ['consents', records.consent],
    ['sessions', records.session],
  ] as const) {
    const r = await s.call('source', 'PUT', `/api/v1/${collection}/${rec.id}`, rec);
    if (r.status !== 201) {
      throw new Error(`PUT ${collection}/${rec.id} answered ${r.status}: ${r.text}`);
    }
  }
}

/** Starts the service in a temp data dir with a key per role (and any extra keys); extra env wins. */
export async function startSecuredService(
  env: Record<string, string> = {},
  extraKeys: { name: string; roles: Role[] }[] = []
): Promise<SecuredService> {
  const tmp = tempDir('collateral-security-');
  const keysFile = join(tmp.dir, 'api-keys.json');
  const tokens = Object.fromEntries(ROLES.map((r) => [r, addKey(keysFile, `${r}-key`, [r])])) as Record<Role, string>;
  const extraTokens = Object.fromEntries(extraKeys.map((k) => [k.name, addKey(keysFile, k.name, k.roles)]));
  const svc = await startTestService(join(tmp.dir, 'data'), { API_KEYS_FILE: keysFile, SYNC_ENABLED: 'false', ...env });
  const call: SecuredService['call'] = async (as, method, path, body, headers = {}) => {
    const token = as === 'anonymous' ? undefined : as.startsWith('token:') ? as.slice(6) : tokens[as as Role];
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return {
    svc,
    keysFile,
    tokens,
    extraTokens,
    call,
    close: async () => {
      await svc.close();
      tmp.cleanup();
    },
  };
}

/** Every route of an express app: method and full path of each route, and the prefixes of catch-all routers. */
export interface AppRoutes {
  routes: { method: string; path: string }[];
  /** Mount paths of routers that answer any path below them (the FHIR router's catch-all). */
  catchAll: string[];
}

interface Layer {
  rawPath?: string | string[];
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] } & ((...args: unknown[]) => unknown);
}

/** Walks express's router stack (express 5 / router 2 keep each layer's path as `rawPath`). */
export function walkRoutes(app: { router: { stack: Layer[] } }): AppRoutes {
  const out: AppRoutes = { routes: [], catchAll: [] };
  const visit = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      const raw = Array.isArray(layer.rawPath) ? layer.rawPath[0] : layer.rawPath;
      const at = raw && raw !== '/' ? `${prefix}${raw}` : prefix;
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods).filter((k) => layer.route!.methods[k] && k !== '_all')) {
          out.routes.push({ method: m.toUpperCase(), path: `${prefix}${layer.route.path}` });
        }
      } else if (layer.handle.stack) {
        visit(layer.handle.stack, at);
      } else if (prefix !== '' && !out.catchAll.includes(prefix)) {
        // A plain middleware inside a mounted router: it may answer anything under the mount point.
        out.catchAll.push(prefix);
      }
    }
  };
  visit(app.router.stack, '');
  return out;
}
