/**
 * The routes an express app really has, read from its router stack (express 5 / router 2): each
 * route's method and full path, mounts included, in OpenAPI form (`/api/v1/{collection}/{id}`). The
 * description keeps only operations the app has, and a test fails for a route it does not describe.
 */
import type { Express } from 'express';

export interface ExpressRoute {
  method: string;
  /** OpenAPI form: `:name` becomes `{name}`. */
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string | string[];
}

/** Every method and path the app routes, sorted. HEAD (express answers it for every GET) is left out. */
export function expressRoutes(app: Express): ExpressRoute[] {
  const out = new Map<string, ExpressRoute>();
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const p of ([] as string[]).concat(layer.route.path)) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all' && method !== 'head') {
              const path = toOpenApi(join(prefix, p));
              out.set(`${method} ${path}`, { method, path });
            }
          }
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, join(prefix, mount));
      }
    }
  };
  const router = (app as unknown as { router: { stack: Layer[] } }).router;
  walk(router.stack, '');
  return [...out.values()].sort((a, b) => (a.path === b.path ? a.method.localeCompare(b.method) : a.path.localeCompare(b.path)));
}

function join(a: string, b: string): string {
  const joined = `${a}/${b}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** `/records/:kind/:id` -> `/records/{kind}/{id}`. */
export function toOpenApi(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}
