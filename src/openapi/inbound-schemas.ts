/**
 * The inbound JSON Schemas (schemas/inbound/*.json, the ones ajv validates requests with) as OpenAPI
 * 3.1 component schemas: the same files, read at run time, so the description cannot drift from the
 * validation. OpenAPI 3.1 schemas are JSON Schema 2020-12; only the references change, from
 * file-relative (`common.schema.json#/$defs/id`) to document-relative
 * (`#/components/schemas/Common/$defs/id`), and `$id`/`$schema` are dropped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.js';

/** `participant.schema.json` -> `Participant`, `import-line.schema.json` -> `ImportLine`. */
export function componentName(file: string): string {
  return file
    .replace(/\.schema\.json$/, '')
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

/** Every inbound schema as a component, by component name. */
export function inboundComponents(dir = join(projectRoot(), 'schemas', 'inbound')): Record<string, object> {
  const out: Record<string, object> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
    const name = componentName(file);
    const { $id: _id, $schema: _schema, ...schema } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    out[name] = rewriteRefs(schema, name) as object;
  }
  return out;
}

function rewriteRefs(value: unknown, self: string): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => rewriteRefs(v, self));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? rewriteRef(v, self) : rewriteRefs(v, self)])
    );
  }
  return value;
}

function rewriteRef(ref: string, self: string): string {
  const [file, fragment = ''] = ref.split('#');
  const target = file === '' ? self : componentName(file);
  return `#/components/schemas/${target}${fragment}`;
}
